"""Exports driven by field classes: each profile writes only the classes it allows.

`full` and `internal` export the records themselves, as documents
(incidents/services/documents.py): the JSON format `incidents-records/1`, or CSV — one
file of one kind, or a ZIP of one file per kind (incidents/services/csv_layout.py). The
outside profiles (`partner`, `public`) export redacted case summaries instead
(incidents/services/summaries.py): only the cases whose reports may be shared under the
profile's consent, in JSON (`incidents-summaries/1`) or as one CSV row per case.

An export is recorded in the audit log — profile, format, teams and counts — before its
first byte is written (`start_export`, `start_summary_export`; the boundary commits the
event), then streamed in batches (`stream_export`, `write_export` and their summary
twins), so memory stays bounded however large the database and no export ever leaves
unrecorded. A user exports the records of their teams (and the organisations every team
shares); the operator, every team's.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, cast

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass
from incidents.errors import NotFound
from incidents.permissions import (
    Permission,
    can,
    ensure,
    ensure_in_team,
    readable_field_classes,
    readable_teams,
)
from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT, KINDS, kind_named
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile
from incidents.repositories import export as export_queries
from incidents.services import csv_layout, disclosures, export_records, records, summaries
from incidents.services.documents import load_names
from incidents.services.export_files import csv_file, json_file, json_list_file, zip_file
from incidents.services.summary_documents import (
    SUMMARY_COLUMNS,
    summary_document,
    summary_header,
    summary_row,
)

EXPORT_FORMAT = "incidents-records/1"
FORMATS = ("json", "csv")
# The profiles that export the records themselves; outside the organisation (partner,
# public) only redacted case summaries go, and only where consent allows.
RECORD_PROFILES = (Profile.FULL, Profile.INTERNAL)
CLI_PROFILES = (Profile.FULL, Profile.INTERNAL, *summaries.SUMMARY_PROFILES)
PROFILE_PERMISSIONS = {
    Profile.FULL: Permission.EXPORT_FULL,
    Profile.INTERNAL: Permission.EXPORT_INTERNAL,
    Profile.PARTNER: Permission.EXPORT_REDACTED,
    Profile.PUBLIC: Permission.EXPORT_REDACTED,
}
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "zip": "application/zip"}

Progress = Callable[[int], None]


def profiles_for(ctx: Context) -> tuple[Profile, ...]:
    """The profiles the principal may export, in the order they are offered."""
    return tuple(p for p in CLI_PROFILES if can(ctx.principal, PROFILE_PERMISSIONS[p]))


def teams_exported(ctx: Context) -> tuple[tuple[str, str], ...]:
    """The slugs and names of the teams an export by the principal holds (all, for the
    operator), as the export page lists them."""
    teams = export_queries.teams_in(ctx.session, readable_teams(ctx.principal))
    return tuple((team.slug, team.name) for team in teams)


def check_format(fmt: str) -> str:
    """`fmt` when it is an export format; ValueError naming the choices otherwise."""
    if fmt not in FORMATS:
        raise ValueError(f"There is no export format {fmt[:20]!r}: choose json or csv.")
    return fmt


@dataclass(frozen=True)
class ExportPlan:
    """An export of records, recorded in the log and ready to be written."""

    profile: Profile
    fmt: str  # "json" or "csv"
    kind: RecordKind | None  # one kind only; None: every kind
    team_ids: frozenset[uuid.UUID] | None  # None: every team
    teams: tuple[tuple[str, str], ...]  # the exported teams' slugs and names
    classes: frozenset[FieldClass]
    counts: Mapping[str, int]  # records of each kind, as counted when it was recorded

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    @property
    def kinds(self) -> tuple[RecordKind, ...]:
        return KINDS if self.kind is None else (self.kind,)

    @property
    def suffix(self) -> str:
        """What the file is: "json", "csv" (one kind) or "zip" (a CSV of every kind)."""
        return "zip" if self.fmt == "csv" and self.kind is None else self.fmt


def start_export(
    ctx: Context,
    profile: Profile,
    *,
    teams: Collection[uuid.UUID] | None = None,
    fmt: str = "json",
    kind: str | None = None,
) -> ExportPlan:
    """Check the permission for `profile` in every team exported, count what will be
    written and record the export in the audit log.

    `teams` None is every team the principal may read; a team they may not read is
    NotFound, as any other team's record. `kind` limits the export to one kind."""
    if profile not in RECORD_PROFILES:
        raise ValueError(f"a {profile.value} export is of case summaries, not of records")
    check_format(fmt)
    permission = PROFILE_PERMISSIONS[profile]
    ensure(ctx.principal, permission)
    chosen = _teams(ctx, teams, permission)
    only = None if kind is None else _kind(kind)
    # A reader never exports a class they could not read on a page.
    classes = PROFILE_FIELD_CLASSES[profile] & readable_field_classes(ctx.principal)
    kinds = KINDS if only is None else (only,)
    counts = {k.name: export_records.count(ctx, k, chosen.ids) for k in kinds}
    detail: dict[str, Any] = {
        "profile": profile.value,
        "format": fmt,
        "records": sum(counts.values()),
        "counts": counts,
        "teams": [slug for slug, _name in chosen.teams],
    }
    if only is not None:
        detail["kind"] = only.name
    record_event(
        ctx.session, ctx.actor, AuditAction.EXPORT, detail=detail, team_id=_one_team(chosen.ids)
    )
    return ExportPlan(profile, fmt, only, chosen.ids, chosen.teams, classes, counts)


def _one_team(ids: Collection[uuid.UUID] | None) -> uuid.UUID | None:
    """The team an export's event belongs to when it holds one team's records: its counts
    are that team's, for that team's auditors, not for every auditor (as an event of no
    team is). An export of several teams is the installation's."""
    return next(iter(ids)) if ids is not None and len(ids) == 1 else None


@dataclass(frozen=True)
class _Teams:
    ids: frozenset[uuid.UUID] | None
    teams: tuple[tuple[str, str], ...]


def _teams(ctx: Context, wanted: Collection[uuid.UUID] | None, permission: Permission) -> _Teams:
    readable = readable_teams(ctx.principal)
    ids = readable if wanted is None else frozenset(wanted)
    if ids is not None and readable is not None and not ids <= readable:
        raise NotFound("no such team")
    found = export_queries.teams_in(ctx.session, ids)
    if ids is not None and len(found) != len(ids):
        raise NotFound("no such team")
    for team in found:
        ensure_in_team(ctx.principal, permission, team.id)
    return _Teams(ids, tuple((team.slug, team.name) for team in found))


def _kind(name: str) -> RecordKind:
    try:
        return kind_named(name)
    except KeyError:
        choices = ", ".join(k.name for k in KINDS)
        raise ValueError(f"There is no kind of record {name[:40]!r}: choose {choices}.") from None


def stream_export(
    ctx: Context,
    plan: ExportPlan,
    progress: Progress | None = None,
    counts: dict[str, int] | None = None,
) -> Iterator[bytes]:
    """The bytes of the export of `plan`, a batch at a time (UTF-8 text, or a ZIP).

    `progress`, when given, is called with the number of records of each batch written;
    `counts`, when given, is filled with the number of records written of each kind."""
    written = counts if counts is not None else {}
    names = load_names(ctx)

    left_out: export_records.LeftOut = {}

    def batches(kind: RecordKind) -> Iterator[export_records.Documents]:
        written[kind.name] = 0
        for batch in export_records.document_batches(
            ctx, kind, plan.team_ids, plan.classes, names, left_out=left_out
        ):
            written[kind.name] += len(batch)
            if progress is not None:
                progress(len(batch))
            yield batch

    if plan.fmt == "json":
        header = {
            "format": EXPORT_FORMAT,
            "profile": plan.profile.value,
            "generated_at": _now(),
            "field_classes": sorted(c.value for c in plan.classes),
            "teams": [{"slug": slug, "name": name} for slug, name in plan.teams],
        }
        yield from json_file(header, "records", ((k.name, batches(k)) for k in plan.kinds))
        return

    def csv_of(kind: RecordKind) -> Iterator[bytes]:
        columns = csv_layout.export_columns(kind, plan.classes)
        rows = ([csv_layout.row(kind, doc, columns) for doc in batch] for batch in batches(kind))
        return csv_file(columns, rows)

    if plan.kind is not None:
        yield from csv_of(plan.kind)
    else:
        yield from zip_file((f"{kind.name}.csv", csv_of(kind)) for kind in plan.kinds)


def write_export(
    ctx: Context,
    plan: ExportPlan,
    out: IO[str] | IO[bytes],
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the export of `plan` to `out`; return the count of records of each kind.

    A JSON or a single CSV may go to a text stream; a ZIP needs a binary one.
    `progress`, when given, is called with the number of records written since its last call.
    """
    counts: dict[str, int] = {}
    _write(out, stream_export(ctx, plan, progress, counts), binary=plan.suffix == "zip")
    return counts


def _write(out: IO[str] | IO[bytes], chunks: Iterable[bytes], *, binary: bool) -> None:
    if isinstance(out, io.TextIOBase):
        if binary:
            raise ValueError("a ZIP is written to a binary file, not to text")
        text = cast(IO[str], out)
        for chunk in chunks:
            text.write(chunk.decode("utf-8"))  # each chunk ends between two characters
        return
    raw = cast(IO[bytes], out)
    for chunk in chunks:
        raw.write(chunk)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- redacted case summaries (partner, public) -----------------------------------------------


@dataclass(frozen=True)
class SummaryCase:
    """A case to export, as counted when the export was recorded."""

    incident_id: uuid.UUID
    report_ids: tuple[uuid.UUID, ...]
    withheld: int


@dataclass(frozen=True)
class SummaryPlan:
    profile: Profile
    cases: tuple[SummaryCase, ...]
    fmt: str = "json"

    @property
    def reports(self) -> int:
        return sum(len(c.report_ids) for c in self.cases)

    @property
    def withheld(self) -> int:
        return sum(c.withheld for c in self.cases)


def start_summary_export(ctx: Context, profile: Profile, *, fmt: str = "json") -> SummaryPlan:
    """Check the permission, decide which reports of every readable case `profile` may
    use, and record the export with its counts. Only reports' ids are kept meanwhile."""
    if profile not in summaries.SUMMARY_PROFILES:
        raise ValueError(f"{profile.value} exports records, not summaries")
    check_format(fmt)
    ensure(ctx.principal, PROFILE_PERMISSIONS[profile])
    cases = tuple(
        SummaryCase(a.incident.id, tuple(r.id for r in a.usable), a.withheld)
        for a in summaries.shareable(ctx, profile)
    )
    plan = SummaryPlan(profile, cases, fmt)
    disclosures.record(ctx, profile, fmt, [i for case in cases for i in case.report_ids])
    teams = export_queries.teams_in(ctx.session, readable_teams(ctx.principal))
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EXPORT,
        detail={
            "profile": profile.value,
            "format": fmt,
            "summaries": len(cases),
            "reports": plan.reports,
            "reports_not_counted": plan.withheld,
            "teams": [team.slug for team in teams],
        },
        team_id=_one_team([team.id for team in teams]),
    )
    return plan


def stream_summary_export(
    ctx: Context, plan: SummaryPlan, progress: Progress | None = None
) -> Iterator[bytes]:
    """The bytes of the summaries of `plan`: one JSON document, or one CSV row a case.
    `progress`, when given, is called with 1 for each case written."""

    def built() -> Iterator[summaries.CaseSummary]:
        # A batch of cases at a time: a fixed number of statements each, however many.
        for start in range(0, len(plan.cases), summaries.SCAN_BATCH):
            batch = plan.cases[start : start + summaries.SCAN_BATCH]
            counted = [(c.incident_id, c.report_ids, c.withheld) for c in batch]
            assessments = summaries.reassess_many(ctx, plan.profile, counted)
            for summary in summaries.build_many(ctx.session, assessments):
                yield summary
                if progress is not None:
                    progress(1)

    if plan.fmt == "csv":
        yield from csv_file(SUMMARY_COLUMNS, ([summary_row(s)] for s in built()))
    else:
        documents = ([summary_document(s)] for s in built())
        yield from json_list_file(summary_header(plan.profile), "summaries", documents)


def write_summary_export(
    ctx: Context,
    plan: SummaryPlan,
    out: IO[str] | IO[bytes],
    progress: Progress | None = None,
) -> int:
    """Write the summaries of `plan` to `out`; return how many were written."""
    _write(out, stream_summary_export(ctx, plan, progress), binary=False)
    return len(plan.cases)


def export_case_summary(ctx: Context, reference: str, profile: Profile) -> dict[str, Any]:
    """The summary export of one case, for a reader of its team who may export redacted
    summaries; recorded with its counts."""
    incident: Any = records.find(ctx, INCIDENT, reference)
    ensure(ctx.principal, PROFILE_PERMISSIONS[profile], incident)
    summary = summaries.build(assessed := summaries.assess(incident, profile))
    disclosures.record(ctx, profile, "json", [report.id for report in assessed.usable])
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EXPORT,
        incident,
        detail=summaries.audit_detail(profile, "json", [summary]),
    )
    return {**summary_header(profile), "summaries": [summary_document(summary)]}
