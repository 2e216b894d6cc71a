"""Bar charts drawn on the server as SVG, for pages under the strict CSP.

No script and no style: colours and sizes are presentation attributes (`fill=`,
`font-size=`), the rest is classes styled in app.css. Every chart has a <title> and a
<desc> that name it for screen readers, scales to its container (viewBox, width 100%),
and is printed as it is shown. Every text that comes from data is escaped.

Why not a library: pygal, the one well-kept pure-Python SVG charting library, puts a
<style> element and a <script> element in every chart; under `style-src 'self'` and
`script-src 'self'` an inline pygal chart draws black, and as an <img> it would need a
route of its own per chart. matplotlib writes `style=` attributes throughout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 480  # user units; drawn at the container's width
PLOT_HEIGHT = 200
LEFT = 36  # the y axis's labels
BOTTOM = 52  # the month labels, slanted
LEGEND_ROW = 20
LABEL_WIDTH = 170  # a horizontal chart's row labels
ROW_HEIGHT = 24
MAX_LABEL_CHARS = 22

# Okabe–Ito: told apart with the common colour-vision deficiencies, and in grey print.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#000000",
    "#f0e442",
    "#999999",
    "#882255",
    "#44aa99",
)


@dataclass(frozen=True)
class Bars:
    """One series of a stacked chart: its key (for a fixed colour), label and values."""

    key: str
    label: str
    values: Sequence[int]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _nice_ceiling(value: int) -> tuple[int, int]:
    """A round top for the axis at or above `value`, and its tick step (four or five ticks)."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return step * math.ceil(value / step), step


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<rect class="chart__ground" x="0" y="0" width="{WIDTH}" height="{height}" '
        'fill="#ffffff"/>',
    ]


def _legend(series: Sequence[Bars], colours: Sequence[str]) -> tuple[list[str], int]:
    """Swatches and labels in rows across the top; the height they take."""
    parts, x, y = [], 0.0, 4.0
    for bars, colour in zip(series, colours, strict=True):
        width = 22 + 7 * len(bars.label)
        if x and x + width > WIDTH:
            x, y = 0.0, y + LEGEND_ROW
        parts.append(
            f'<rect x="{_number(x)}" y="{_number(y)}" width="12" height="12" fill="{colour}"/>'
            f'<text class="chart__legend" x="{_number(x + 16)}" y="{_number(y + 10)}" '
            f'font-size="12">{escape(bars.label)}</text>'
        )
        x += width + 12
    return parts, int(y + LEGEND_ROW + 8) if series else 0


def _colours(series: Sequence[Bars], fixed: Mapping[str, str] | None) -> list[str]:
    return [(fixed or {}).get(bars.key, PALETTE[i % len(PALETTE)]) for i, bars in enumerate(series)]


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Bars],
    colours: Mapping[str, str] | None = None,
) -> Markup:
    """Vertical bars, one per category (a month), each stacked from the series' values."""
    fills = _colours(series, colours)
    legend, top = _legend(series, fills)
    top += 8
    height = top + PLOT_HEIGHT + BOTTOM
    parts = _open(chart_id, title, description, height)
    parts += legend
    totals = [sum(bars.values[i] for bars in series) for i in range(len(categories))]
    ceiling, step = _nice_ceiling(max(totals, default=0))
    scale = PLOT_HEIGHT / ceiling
    base = top + PLOT_HEIGHT
    for tick in range(0, ceiling + 1, step):
        y = base - tick * scale
        parts.append(
            f'<line class="chart__grid" x1="{LEFT}" y1="{_number(y)}" x2="{WIDTH}" '
            f'y2="{_number(y)}" stroke="#d0d0d0" stroke-width="1"/>'
            f'<text class="chart__tick" x="{LEFT - 6}" y="{_number(y + 4)}" font-size="11" '
            f'text-anchor="end">{tick}</text>'
        )
    band = (WIDTH - LEFT) / max(len(categories), 1)
    every = max(1, math.ceil(len(categories) / 12))
    for i, category in enumerate(categories):
        x = LEFT + i * band + band * 0.15
        y = float(base)
        for bars, fill in zip(series, fills, strict=True):
            value = bars.values[i]
            if not value:
                continue
            y -= value * scale
            parts.append(
                f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(band * 0.7)}" '
                f'height="{_number(value * scale)}" fill="{fill}">'
                f"<title>{escape(category)}, {escape(bars.label)}: {value}</title></rect>"
            )
        if i % every == 0:
            cx, cy = LEFT + (i + 0.5) * band, base + 14
            parts.append(
                f'<text class="chart__tick" x="{_number(cx)}" y="{_number(cy)}" font-size="11" '
                f'text-anchor="end" transform="rotate(-40 {_number(cx)} {_number(cy)})">'
                f"{escape(category)}</text>"
            )
    parts.append(
        f'<line class="chart__axis" x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" '
        'stroke="#333333" stroke-width="1"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 — every data text above is escaped


def horizontal_bars(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, int]],
    maximum: int | None = None,
    fill: str = PALETTE[0],
) -> Markup:
    """One bar per row (label, value), against `maximum` (the largest value by default)."""
    height = 8 + ROW_HEIGHT * max(len(rows), 1)
    parts = _open(chart_id, title, description, height)
    ceiling = max(maximum or 0, max((v for _, v in rows), default=0), 1)
    span = WIDTH - LABEL_WIDTH - 44
    for i, (text, value) in enumerate(rows):
        y = 4 + i * ROW_HEIGHT
        width = span * value / ceiling
        parts.append(
            f'<text class="chart__label" x="{LABEL_WIDTH - 8}" y="{y + 15}" font-size="12" '
            f'text-anchor="end">{escape(_short(text))}<title>{escape(text)}</title></text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{_number(width)}" height="16" '
            f'fill="{fill}"/>'
            f'<text class="chart__value" x="{_number(LABEL_WIDTH + width + 6)}" y="{y + 15}" '
            f'font-size="12">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every data text above is escaped
