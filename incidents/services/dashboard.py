"""The advocacy dashboard: what is documented and done, over the principal's teams.

Incidents per month by violation type and by region; actions per month by the impact
they had; follow-ups overdue and due soon; and consent coverage — how many of the
teams' reports may serve each use advocacy makes of them. Only public and advocacy
fields are read (an incident's month is the public form of its start date), so the page
is the same for a researcher and an advocacy lead, and nothing is decrypted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models.vocabularies import ConsentUse, Impact, ViolationType, label
from incidents.permissions import Permission, ensure, readable_teams
from incidents.repositories import dashboard as queries
from incidents.services import advocacy_work
from incidents.services import follow_ups as follow_up_service
from incidents.services.consent import today as consent_today
from incidents.services.consent_uses import PROFILE_USES, USE_PHRASES, USES_BY_KIND

DEFAULT_MONTHS = 24  # shown without a range: the last two years that have data
MAX_MONTHS = 120  # the longest range a chart draws
DUE_WITHIN_DAYS = 14
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

# Every use advocacy makes of a report: what its actions need and what summaries need.
ADVOCACY_USES: tuple[ConsentUse, ...] = tuple(
    use
    for use in ConsentUse
    if use in {u for uses in USES_BY_KIND.values() for u in uses} | set(PROFILE_USES.values())
)

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: tuple[int, ...]  # one per month of the chart


@dataclass(frozen=True)
class MonthChart:
    """Counts per month, stacked by series; `totals` count each record once a month."""

    months: tuple[str, ...]  # "2017-03"
    series: tuple[Series, ...]
    totals: tuple[int, ...]
    undated: int  # records whose month is not known (not charted)

    @property
    def rows(self) -> list[tuple[str, list[int], int]]:
        """(month, value per series, total) for the table beside the chart."""
        return [
            (month, [s.values[i] for s in self.series], self.totals[i])
            for i, month in enumerate(self.months)
        ]


@dataclass(frozen=True)
class RegionRow:
    country: str | None
    region: str | None
    incidents: int

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.region, self.country) if p) or "place not known"


@dataclass(frozen=True)
class FollowUpRow:
    action_reference: str
    description: str
    due_on: date
    assignee: str | None

    @property
    def action_url(self) -> str:
        """The action's page (a plain path: another area's page)."""
        return f"/advocacy/actions/{self.action_reference}"


@dataclass(frozen=True)
class CoverageRow:
    use: ConsentUse
    label: str
    phrase: str
    usable: int
    total: int


@dataclass(frozen=True)
class Dashboard:
    start: str | None  # the months shown, "2017-03"; None without data
    end: str | None
    incidents: MonthChart
    regions: tuple[RegionRow, ...]
    actions: MonthChart
    overdue: tuple[FollowUpRow, ...]
    due_soon: tuple[FollowUpRow, ...]
    coverage: tuple[CoverageRow, ...]
    reports: int  # all the teams' reports, erased aside
    flagged: tuple[advocacy_work.FlaggedLink, ...]
    today: date


def dashboard(
    ctx: Context, start: str | None = None, end: str | None = None, on: date | None = None
) -> Dashboard:
    """The dashboard over the principal's teams, for the months `start`..`end`
    ("YYYY-MM", both or neither; else the last 24 months that have data). A range that
    cannot be read is a ValidationError on "from" or "to"."""
    ensure(ctx.principal, Permission.CASE_READ)
    ensure(ctx.principal, Permission.ADVOCACY_READ)
    teams = readable_teams(ctx.principal)
    day = on or consent_today()
    per_type = queries.incidents_per_month_and_type(ctx.session, teams)
    per_month = queries.incidents_per_month(ctx.session, teams)
    actions = queries.actions_per_month(ctx.session, teams)
    seen = [m for m, _ in per_month if m is not None] + [m for m, _, _ in actions if m is not None]
    months = _range(start, end, seen)
    follow_ups = [
        FollowUpRow(f.action_reference, f.description, f.due_on, f.assignee)
        for f in follow_up_service.follow_ups_due(ctx, DUE_WITHIN_DAYS, day)
        if f.due_on is not None  # always: only follow-ups with a due date are due
    ]
    coverage, reports = _coverage(ctx, teams, day)
    return Dashboard(
        start=_label(months[0]) if months else None,
        end=_label(months[-1]) if months else None,
        incidents=_incident_chart(per_type, per_month, months),
        regions=tuple(RegionRow(*row) for row in queries.incidents_by_region(ctx.session, teams)),
        actions=_action_chart(actions, months),
        overdue=tuple(f for f in follow_ups if f.due_on < day),
        due_soon=tuple(f for f in follow_ups if f.due_on >= day),
        coverage=coverage,
        reports=reports,
        flagged=tuple(advocacy_work.flagged_links(ctx)),
        today=day,
    )


# -- months ------------------------------------------------------------------------------


def _month(day: date) -> Month:
    return (day.year, day.month)


def _label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _next(month: Month) -> Month:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def _ordinal(month: Month) -> int:
    return month[0] * 12 + month[1] - 1


def _from_ordinal(value: int) -> Month:
    return (value // 12, value % 12 + 1)


def parse_month(raw: str, field: str) -> Month:
    match = _MONTH.match(raw.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValidationError.on(field, f"Give the month as YYYY-MM (e.g. 2017-03), not {raw!r}.")
    return (int(match.group(1)), int(match.group(2)))


def _range(start: str | None, end: str | None, seen: Iterable[Month]) -> list[Month]:
    """The months shown: the range asked for, or the last DEFAULT_MONTHS up to the latest
    month with data (from the first month with data, when that is later)."""
    if start or end:
        if not (start and end):
            field = "to" if start else "from"
            raise ValidationError.on(field, "Give both months of the range, or neither.")
        first, last = parse_month(start, "from"), parse_month(end, "to")
        if last < first:
            raise ValidationError.on("to", "The range ends before it starts.")
        if _ordinal(last) - _ordinal(first) >= MAX_MONTHS:
            raise ValidationError.on("to", f"Show at most {MAX_MONTHS} months at once.")
    else:
        known = sorted(set(seen))
        if not known:
            return []
        last = known[-1]
        first = max(known[0], _from_ordinal(_ordinal(last) - DEFAULT_MONTHS + 1))
    months = [first]
    while months[-1] < last:
        months.append(_next(months[-1]))
    return months


# -- charts ------------------------------------------------------------------------------


def _incident_chart(
    per_type: list[tuple[Month | None, ViolationType | None, int]],
    per_month: list[tuple[Month | None, int]],
    months: list[Month],
) -> MonthChart:
    """Incidents per month and violation type: an incident of two types counts in each,
    and once in the month's total. Incidents not dated to the month are `undated`."""
    index = {month: i for i, month in enumerate(months)}
    counts: dict[ViolationType | None, Counter[int]] = defaultdict(Counter)
    for month, kind, n in per_type:
        if month in index:
            counts[kind][index[month]] += n
    totals: Counter[int] = Counter()
    for month, n in per_month:
        if month in index:
            totals[index[month]] += n
    order = [*ViolationType, None]
    series = tuple(
        Series(
            kind.value if kind else "none",
            label(kind) if kind else "no type recorded",
            tuple(counts[kind][i] for i in range(len(months))),
        )
        for kind in order
        if kind in counts
    )
    undated = sum(n for month, n in per_month if month is None)
    return MonthChart(
        tuple(_label(m) for m in months),
        series,
        tuple(totals[i] for i in range(len(months))),
        undated,
    )


def _action_chart(rows: list[tuple[Month | None, Impact, int]], months: list[Month]) -> MonthChart:
    """Actions per month of their start, by the impact recorded."""
    index = {month: i for i, month in enumerate(months)}
    per_impact: dict[Impact, Counter[int]] = defaultdict(Counter)
    undated = 0
    for month, impact, n in rows:
        if month is None:
            undated += n
        elif month in index:
            per_impact[impact][index[month]] += n
    series = tuple(
        Series(
            impact.value, label(impact), tuple(per_impact[impact][i] for i in range(len(months)))
        )
        for impact in Impact
        if impact in per_impact
    )
    totals = tuple(sum(s.values[i] for s in series) for i in range(len(months)))
    return MonthChart(tuple(_label(m) for m in months), series, totals, undated)


# -- consent coverage --------------------------------------------------------------------


def usable_report_counts(
    ctx: Context, teams: queries.Teams, on: date
) -> tuple[dict[ConsentUse, int], int]:
    """For each use of ADVOCACY_USES, how many reports of `teams` may serve it on `on`
    (by the rules of consent_uses, counted by the database: one statement however many
    reports and people), and how many reports there are, erased ones aside."""
    return queries.usable_report_counts(ctx.session, teams, ADVOCACY_USES, on)


def _coverage(ctx: Context, teams: queries.Teams, on: date) -> tuple[tuple[CoverageRow, ...], int]:
    usable, total = usable_report_counts(ctx, teams, on)
    rows = tuple(
        CoverageRow(use, label(use), USE_PHRASES[use], usable[use], total) for use in ADVOCACY_USES
    )
    return rows, total
