"""The benchmark command's figures: each one beside the baseline measured in the same
run and their ratio, printed as one table (plain or markdown) and written as JSON.

A ratio always reads "times the baseline's cost": for a rate it is the baseline's rate
over the figure's (an import at 1.2× is 20% slower than without encryption), for a time
or a size the figure over the baseline. A goal is met when the ratio is at most its
bound.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    database: str
    size: str  # the archive's size as asked for: "10k"
    measure: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    higher_is_better: bool = False  # a rate: the ratio is baseline / value
    goal: float | None = None  # the largest ratio that meets the goal
    note: str = ""  # what stands beside it: statements, records

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.value or not self.baseline:
            return None
        return self.baseline / self.value if self.higher_is_better else self.value / self.baseline

    @property
    def verdict(self) -> str:
        if self.goal is None or self.ratio is None:
            return ""
        return f"{'met' if self.ratio <= self.goal else 'NOT MET'} (<= {self.goal:g}×)"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict}


def growth(figures: list[Figure], sizes: list[str], goal: float) -> list[Figure]:
    """For each page's p95 measured at the smallest and the largest size: the largest
    against the smallest, on each database, for each team. Beside it, the statements at
    both sizes (exact) and the growth of the page's ratio to the bare endpoint, which a
    machine whose load changed between the two sizes disturbs less."""
    if len(sizes) < 2:
        return []
    smallest, largest = sizes[0], sizes[-1]
    first = {(f.database, f.measure): f for f in figures if f.size == smallest}
    grown = []
    for figure in figures:
        if figure.size != largest or not figure.measure.endswith(" p95"):
            continue
        start = first.get((figure.database, figure.measure))
        if start is None:
            continue
        note = f"statements {start.note.split(' ')[0]} → {figure.note.split(' ')[0]}"
        if start.ratio and figure.ratio:
            note += f"; against the bare endpoint {figure.ratio / start.ratio:.2f}×"
        grown.append(
            Figure(
                figure.database,
                f"{smallest}→{largest}",
                figure.measure.replace(" p95", " p95 growth"),
                figure.value,
                figure.unit,
                f"p95 at {smallest}",
                start.value,
                goal=goal,
                note=note,
            )
        )
    return grown


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _cells(figure: Figure) -> list[str]:
    ratio = figure.ratio
    baseline = (
        f"{_number(figure.baseline)} {figure.unit} ({figure.baseline_name})"
        if figure.baseline is not None
        else ""
    )
    return [
        figure.database,
        figure.size,
        figure.measure,
        f"{_number(figure.value)} {figure.unit}",
        baseline,
        "" if ratio is None else f"{ratio:.2f}×",
        figure.verdict,
        figure.note,
    ]


HEADINGS = ["database", "size", "measure", "figure", "baseline", "ratio", "goal", "beside it"]


def table(figures: Iterable[Figure], *, markdown: bool = False) -> str:
    rows = [_cells(f) for f in figures]
    if markdown:
        lines = ["| " + " | ".join(HEADINGS) + " |", "|" + " --- |" * len(HEADINGS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADINGS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADINGS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on: a shared machine's load changes them."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }


def write_json(path: Path, figures: list[Figure], settings: dict[str, Any]) -> None:
    document = {
        "machine": machine(),
        "settings": settings,
        "figures": [f.as_dict() for f in figures],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
