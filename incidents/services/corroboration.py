"""How well an incident is corroborated: how many reports, from how many *independent*
sources of each kind, at which grades of source reliability (A–F) and credibility (1–6).

Two reports from one source are one source: independence is counted by distinct
source. Reports without a source are counted apart, erased reports not at all, and
reports rejected at triage apart as well. Figures only — no reference, title or value of
any record — but of restricted fields (with one report, they are that source's kind and
grade), so for those who may read restricted fields; two statements, nothing decrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.context import Context
from incidents.models.incident import Incident
from incidents.models.vocabularies import SourceKind, SourceReliability
from incidents.permissions import Permission, ensure
from incidents.records.kinds import INCIDENT
from incidents.repositories import corroboration as corroboration_queries
from incidents.services import records

_RELIABILITY_ORDER = list(SourceReliability)
_KIND_ORDER = list(SourceKind)


@dataclass(frozen=True)
class SourceKindCount:
    kind: SourceKind
    sources: int  # distinct sources of this kind
    reports: int  # the reports they gave


@dataclass(frozen=True)
class GradeCount:
    reliability: SourceReliability | None  # None: reports without a source
    credibility: int
    reports: int

    @property
    def grade(self) -> str:
        """The two ratings side by side, "B2"; "–2" for a report without a source."""
        return f"{self.reliability or '–'}{self.credibility}"


@dataclass(frozen=True)
class Corroboration:
    reports: int  # reports linked to the incident that count: neither erased nor rejected
    independent_sources: int
    by_kind: tuple[SourceKindCount, ...]  # most sources first
    without_source: int  # reports that name no source
    rejected: int  # linked but rejected at triage: not counted above
    grades: tuple[GradeCount, ...]  # A1 … F6, then the unsourced


def corroboration_of(ctx: Context, incident: Incident | str) -> Corroboration:
    """The figures for `incident` (the record, or its reference), for those who may read its
    restricted fields: source kinds and grades are restricted, and with one report the
    figures are that source's. NotFound for another team's incident."""
    record: Incident
    if isinstance(incident, str):
        record = records.find(ctx, INCIDENT, incident, Permission.FIELDS_RESTRICTED)
    else:
        record = incident
        ensure(ctx.principal, Permission.FIELDS_RESTRICTED, record)
    kinds = corroboration_queries.reports_by_source_kind(ctx.session, record.id, record.team_id)
    grades = corroboration_queries.reports_by_grade(ctx.session, record.id, record.team_id)
    by_kind = sorted(
        (
            SourceKindCount(SourceKind(row.kind), int(row.sources), int(row.reports))
            for row in kinds
            if row.kind is not None and row.reports
        ),
        key=lambda c: (-c.sources, -c.reports, _KIND_ORDER.index(c.kind)),
    )
    return Corroboration(
        reports=sum(int(row.reports or 0) for row in kinds),
        independent_sources=sum(c.sources for c in by_kind),
        by_kind=tuple(by_kind),
        without_source=sum(int(row.reports or 0) for row in kinds if row.kind is None),
        rejected=sum(int(row.rejected or 0) for row in kinds),
        grades=tuple(
            sorted(
                (
                    GradeCount(
                        None if row.reliability is None else SourceReliability(row.reliability),
                        int(row.credibility),
                        int(row.reports),
                    )
                    for row in grades
                ),
                key=lambda g: (
                    len(_RELIABILITY_ORDER)
                    if g.reliability is None
                    else _RELIABILITY_ORDER.index(g.reliability),
                    g.credibility,
                ),
            )
        ),
    )
