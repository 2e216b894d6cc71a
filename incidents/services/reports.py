"""Reports and sources as one user sees them: the lists (no decryption, filtered,
paged by keyset) and one report or source (its secret fields for the team's
researchers, with one audit event per page view)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.models.vocabularies import (
    Channel,
    ReportStatus,
    RiskLevel,
    SourceKind,
    SourceReliability,
)
from incidents.permissions import Permission, can, ensure, readable_teams, visible_field_classes
from incidents.read_models import read_model
from incidents.records.kinds import REPORT, SOURCE
from incidents.redaction import visible_values
from incidents.repositories import records as record_queries
from incidents.repositories import reports as report_queries
from incidents.services import listing, records
from incidents.services.evidence.listing import EvidenceItem, evidence_for_reports
from incidents.services.history import History, history_of
from incidents.vault import secret_field_names

PAGE_SIZE = 50
REPORT_SORTS = ("newest", "oldest")


@dataclass(frozen=True)
class ReportFilters(report_queries.ReportQuery):
    """What a report list is narrowed to (the query's fields) and how it is sorted; built
    from a query string, where values that mean nothing are dropped."""

    sort: str = REPORT_SORTS[0]

    def __post_init__(self) -> None:
        object.__setattr__(self, "oldest_first", self.sort == "oldest")

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> ReportFilters:
        def upper(name: str) -> str | None:
            value = listing.text(args, name)
            return value.upper() if value else None

        return cls(
            status=listing.choice(args, "status", ReportStatus),
            channel=listing.choice(args, "channel", Channel),
            credibility=listing.number(args, "credibility", 1, 6),
            source_kind=listing.choice(args, "source_kind", SourceKind),
            reliability=listing.choice(args, "reliability", SourceReliability),
            received_from=listing.day(args, "received_from"),
            received_to=listing.day(args, "received_to"),
            incident=upper("incident"),
            source=upper("source"),
            reference=upper("reference"),
            sort=listing.one_of(args, "sort", REPORT_SORTS),
        )

    def query_string(self) -> dict[str, str]:
        """The filters as query-string values, for the links of the next page."""
        values = {}
        for name, value in asdict(self).items():
            if value is None or name == "oldest_first" or (name, value) == ("sort", "newest"):
                continue
            values[name] = str(getattr(value, "value", value))
        return values

    @property
    def active(self) -> bool:
        return bool(set(self.query_string()) - {"sort"})


@dataclass(frozen=True)
class ReportListRow:
    reference: str
    title: str
    received_on: date
    channel: Channel
    status: ReportStatus
    credibility: int | None
    source_reference: str | None
    source_kind: SourceKind | None
    source_reliability: SourceReliability | None
    incident_reference: str | None
    erased: bool

    @property
    def grade(self) -> str:
        """Source reliability beside the credibility of the information: "B2" ("–6" for a
        report without a source)."""
        reliability = self.source_reliability.value if self.source_reliability else "–"
        return f"{reliability}{self.credibility or '–'}"


@dataclass(frozen=True)
class ReportPage:
    rows: tuple[ReportListRow, ...]
    next_after: str | None
    filters: ReportFilters


def list_reports(
    ctx: Context, filters: ReportFilters, after: str | None = None, limit: int = PAGE_SIZE
) -> ReportPage:
    """One page of the reports of the user's teams, newest (or oldest) first."""
    ensure(ctx.principal, Permission.FIELDS_RESTRICTED)
    rows = report_queries.report_page(
        ctx.session,
        readable_teams(ctx.principal),
        filters,
        listing.parse_date_cursor(after),
        limit + 1,
    )
    shown = rows[:limit]
    erased = record_queries.erased_ids(ctx.session, REPORT.table, [r.id for r in shown])
    page = tuple(_list_row(report, report.id in erased) for report in shown)
    last = shown[-1] if len(rows) > limit else None
    cursor = listing.date_cursor(last.received_on, last.id) if last is not None else None
    return ReportPage(page, cursor, filters)


def _list_row(report: Report, erased: bool) -> ReportListRow:
    source = report.source
    return ReportListRow(
        reference=report.reference,
        title=report.title,
        received_on=report.received_on,
        channel=report.channel,
        status=report.status,
        credibility=report.credibility,
        source_reference=source.reference if source else None,
        source_kind=source.kind if source else None,
        source_reliability=source.reliability if source else None,
        incident_reference=report.incident.reference if report.incident else None,
        erased=erased,
    )


@dataclass(frozen=True)
class ReportView:
    """A report as one user may see it: what they may not read is None."""

    reference: str
    title: str | None
    received_on: date | None
    channel: Channel | None
    language: str | None
    credibility: int | None
    status: ReportStatus | None
    rejection_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    narrative: str | None
    shows_secrets: bool
    source: ReportListRow | None  # the source's reference, kind and reliability
    incident_reference: str | None
    incident_title: str | None
    may_edit: bool
    erased: bool
    history: History | None  # None: this reader may not see who did what
    evidence: tuple[EvidenceItem, ...]

    @property
    def grade(self) -> str:
        return self.source.grade if self.source else f"–{self.credibility or '–'}"


def view_report(ctx: Context, reference: str) -> ReportView:
    report: Report = records.find(ctx, REPORT, reference, Permission.FIELDS_RESTRICTED)
    classes = visible_field_classes(ctx.principal, report)
    erased = record_queries.is_erased(ctx.session, REPORT.table, report.id)
    decrypted = None
    if FieldClass.SECRET in classes and not erased:
        names = secret_field_names(Report)
        decrypted = ctx.vault.unseal(report, *names)
        record_event(ctx.session, ctx.actor, AuditAction.SECRET_DECRYPT, report, fields=names)
    incident = report.incident
    return read_model(
        ReportView,
        visible_values(report, classes, decrypted),
        shows_secrets=decrypted is not None,
        source=_list_row(report, erased) if report.source else None,
        incident_reference=incident.reference if incident else None,
        incident_title=incident.title if incident else None,
        may_edit=can(ctx.principal, Permission.CASE_WRITE, report) and not erased,
        erased=erased,
        history=history_of(ctx, REPORT, report),
        evidence=tuple(evidence_for_reports(ctx, [report]).get(report.id, [])),
    )


@dataclass(frozen=True)
class SourceFilters(listing.QueryFilters, report_queries.SourceQuery):
    """What a source list is narrowed to, from a query string."""

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> SourceFilters:
        reference = listing.text(args, "reference")
        return cls(
            kind=listing.choice(args, "kind", SourceKind),
            reliability=listing.choice(args, "reliability", SourceReliability),
            risk_level=listing.choice(args, "risk_level", RiskLevel),
            reference=reference.upper() if reference else None,
        )


@dataclass(frozen=True)
class SourceRow:
    reference: str
    kind: SourceKind
    reliability: SourceReliability
    risk_level: RiskLevel
    reports: int
    erased: bool


@dataclass(frozen=True)
class SourcePage:
    rows: tuple[SourceRow, ...]
    next_after: str | None
    filters: SourceFilters


def list_sources(
    ctx: Context, filters: SourceFilters, after: str | None = None, limit: int = PAGE_SIZE
) -> SourcePage:
    ensure(ctx.principal, Permission.FIELDS_RESTRICTED)
    if after is not None and not re.fullmatch(SOURCE.reference_pattern or "", after):
        after = None  # a cursor that is no reference starts from the first page
    rows = report_queries.source_page(
        ctx.session,
        readable_teams(ctx.principal),
        filters,
        after,
        limit + 1,
    )
    shown = rows[:limit]
    erased = record_queries.erased_ids(ctx.session, SOURCE.table, [s.id for s, _ in shown])
    page = tuple(
        SourceRow(s.reference, s.kind, s.reliability, s.risk_level, count, s.id in erased)
        for s, count in shown
    )
    return SourcePage(page, page[-1].reference if len(rows) > limit else None, filters)


@dataclass(frozen=True)
class SourceView:
    reference: str
    kind: SourceKind | None
    reliability: SourceReliability | None
    risk_level: RiskLevel | None
    created_at: datetime | None
    updated_at: datetime | None
    identity: str | None
    contact: str | None
    protective_notes: str | None
    shows_secrets: bool
    reports: tuple[ReportListRow, ...]
    may_edit: bool
    erased: bool
    history: History | None


def view_source(ctx: Context, reference: str) -> SourceView:
    source: Source = records.find(ctx, SOURCE, reference, Permission.FIELDS_RESTRICTED)
    classes = visible_field_classes(ctx.principal, source)
    erased = record_queries.is_erased(ctx.session, SOURCE.table, source.id)
    decrypted = None
    if FieldClass.SECRET in classes and not erased:
        names = secret_field_names(Source)
        decrypted = ctx.vault.unseal(source, *names)
        record_event(ctx.session, ctx.actor, AuditAction.SECRET_DECRYPT, source, fields=names)
    reports = report_queries.reports_from(ctx.session, source)
    erased_reports = record_queries.erased_ids(ctx.session, REPORT.table, [r.id for r in reports])
    return read_model(
        SourceView,
        visible_values(source, classes, decrypted),
        shows_secrets=decrypted is not None,
        reports=tuple(_list_row(r, r.id in erased_reports) for r in reports),
        may_edit=can(ctx.principal, Permission.CASE_WRITE, source) and not erased,
        erased=erased,
        history=history_of(ctx, SOURCE, source),
    )
