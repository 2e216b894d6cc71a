"""Exports driven by field classes: each profile writes only the classes it allows.

An export is recorded in the audit log before its first byte is written (`start_export`;
the boundary commits it), then streamed in batches (`write_export`), so memory stays
bounded however large the database and no export ever leaves unrecorded.

The outside profiles (`partner`, `public`) export redacted case summaries instead of
records (incidents/services/summaries.py): only the cases whose reports may be shared
under the profile's consent, recorded with their counts before the first byte too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass, field_class_of
from incidents.models import IncidentViolation, Team, action_organisations
from incidents.permissions import Permission, ensure
from incidents.records.kinds import INCIDENT, KINDS
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile, visible_values
from incidents.repositories import export as export_queries
from incidents.serialise import plain
from incidents.services import consent_uses, records, summaries
from incidents.vault import FieldVault, secret_field_names

EXPORT_FORMAT = "incidents-export/1"
BATCH = 500

# Export order: referenced records before the records that refer to them — teams, then
# the kinds of record in the registry's order, each incident's violation types with it.
EXPORTED_MODELS: list[type[Any]] = [Team]
for _kind in KINDS:
    EXPORTED_MODELS.append(_kind.model)
    if _kind.name == "incident":
        EXPORTED_MODELS.append(IncidentViolation)

SUMMARY_FORMAT = "incidents-summaries/1"
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


@dataclass(frozen=True)
class ExportPlan:
    """An export recorded in the log and ready to be written."""

    profile: Profile
    records: int  # as counted when it was recorded


def start_export(ctx: Context, profile: Profile) -> ExportPlan:
    """Check the permission for `profile` and record the export in the audit log."""
    if profile not in RECORD_PROFILES:
        raise ValueError(f"a {profile.value} export is of case summaries, not of records")
    ensure(ctx.principal, PROFILE_PERMISSIONS[profile])
    tables = [model.__table__ for model in EXPORTED_MODELS] + [action_organisations]
    count = export_queries.count_rows(ctx.session, tables)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EXPORT,
        detail={"profile": profile.value, "format": "json", "records": count},
    )
    return ExportPlan(profile, count)


def write_export(
    ctx: Context,
    plan: ExportPlan,
    out: IO[str],
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the JSON export of `plan` to `out`; return the count of records per table.

    `progress`, when given, is called with the number of records written since its last call.
    """
    classes = PROFILE_FIELD_CLASSES[plan.profile]
    counts: dict[str, int] = {}
    header = {
        "format": EXPORT_FORMAT,
        "profile": plan.profile.value,
        "generated_at": datetime.now(UTC).isoformat(),
        "field_classes": sorted(c.value for c in classes),
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "records": {')
    sections: list[tuple[str, Iterator[dict[str, Any]]]] = [
        (model.__tablename__, _rows(ctx, model, classes)) for model in EXPORTED_MODELS
    ]
    sections.append((action_organisations.name, _association_rows(ctx, classes)))
    for index, (name, rows) in enumerate(sections):
        out.write(("" if index == 0 else ", ") + json.dumps(name) + ": [")
        count = 0
        for row in rows:
            out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(row, ensure_ascii=False))
            count += 1
            if progress is not None and count % BATCH == 0:
                progress(BATCH)
        if progress is not None:
            progress(count % BATCH)
        out.write("]")
        counts[name] = count
    out.write("}}\n")
    return counts


def _rows(
    ctx: Context, model: type[Any], classes: frozenset[FieldClass]
) -> Iterator[dict[str, Any]]:
    decrypt = FieldClass.SECRET in classes and bool(secret_field_names(model))
    # Columns only: no relationship is loaded, so each batch is all that is held.
    for record in export_queries.stream_records(ctx.session, model, BATCH):
        decrypted = None
        if decrypt:
            # A vault per record: its cache of unwrapped keys must not grow with the export.
            decrypted = FieldVault(ctx.session, ctx.keys).unseal(record)
        yield plain(visible_values(record, classes, decrypted))
        ctx.session.expunge(record)


def _association_rows(ctx: Context, classes: frozenset[FieldClass]) -> Iterator[dict[str, Any]]:
    columns = [c for c in action_organisations.columns if field_class_of(c) in classes]
    if not columns:
        return
    for row in export_queries.stream_rows(ctx.session, columns):
        yield {column.key: plain(value) for column, value in zip(columns, row, strict=True)}


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

    @property
    def reports(self) -> int:
        return sum(len(c.report_ids) for c in self.cases)

    @property
    def withheld(self) -> int:
        return sum(c.withheld for c in self.cases)


def start_summary_export(ctx: Context, profile: Profile) -> SummaryPlan:
    """Check the permission, decide which reports of every readable case `profile` may
    use, and record the export with its counts. Only reports' ids are kept meanwhile."""
    if profile not in summaries.SUMMARY_PROFILES:
        raise ValueError(f"{profile.value} exports records, not summaries")
    ensure(ctx.principal, PROFILE_PERMISSIONS[profile])
    cases = tuple(
        SummaryCase(a.incident.id, tuple(r.id for r in a.usable), a.withheld)
        for a in summaries.shareable(ctx, profile)
    )
    plan = SummaryPlan(profile, cases)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EXPORT,
        detail={
            "profile": profile.value,
            "format": "json",
            "summaries": len(cases),
            "reports": plan.reports,
            "reports_not_counted": plan.withheld,
        },
    )
    return plan


def write_summary_export(
    ctx: Context,
    plan: SummaryPlan,
    out: IO[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the summaries of `plan` as one JSON document; return how many were written.
    `progress`, when given, is called with 1 for each case written."""
    out.write(json.dumps(summary_header(plan.profile), ensure_ascii=False)[:-1])
    out.write(', "summaries": [')
    for index, case in enumerate(plan.cases):
        assessment = summaries.reassess(
            ctx, plan.profile, case.incident_id, case.report_ids, case.withheld
        )
        document = summary_document(summaries.build(assessment))
        out.write(("\n  " if index == 0 else ",\n  ") + json.dumps(document, ensure_ascii=False))
        if progress is not None:
            progress(1)
    out.write("]}\n")
    return len(plan.cases)


def export_case_summary(ctx: Context, reference: str, profile: Profile) -> dict[str, Any]:
    """The summary export of one case, for a reader of its team who may export redacted
    summaries; recorded with its counts."""
    incident: Any = records.find(ctx, INCIDENT, reference)
    ensure(ctx.principal, PROFILE_PERMISSIONS[profile], incident)
    summary = summaries.build(summaries.assess(incident, profile))
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EXPORT,
        incident,
        detail=summaries.audit_detail(profile, "json", [summary]),
    )
    return {**summary_header(profile), "summaries": [summary_document(summary)]}


def summary_header(profile: Profile) -> dict[str, Any]:
    return {
        "format": SUMMARY_FORMAT,
        "profile": profile.value,
        "generated_at": datetime.now(UTC).isoformat(),
        "field_classes": [FieldClass.PUBLIC.value],
        "consent_use": consent_uses.PROFILE_USES[profile].value,
    }


def summary_document(summary: summaries.CaseSummary) -> dict[str, Any]:
    """A summary as JSON-ready data: what its page shows, no more; of a case that cannot
    be shared, only its reference."""
    if not summary.shareable:
        return {"reference": summary.reference, "shareable": False}
    return {
        "reference": summary.reference,
        "shareable": True,
        "violation_types": [v.value for v in summary.violation_types],
        "country": summary.country,
        "region": summary.region,
        "month": summary.month,
        "estimated_victims": summary.estimated_victims,
        "corroboration": {
            "reports": summary.reports,
            "independent_sources": summary.independent_sources,
            "sources_by_kind": {c.kind.value: c.sources for c in summary.sources_by_kind},
            "reliability_mix": {c.reliability.value: c.sources for c in summary.reliability_mix},
            "reports_not_counted": summary.withheld,
            "not_counted_because": (
                summaries.withheld_reason(summary.profile) if summary.withheld else None
            ),
        },
        "official_responses": [
            {"kind": r.kind.value, "date": r.when, "authority": r.authority}
            for r in summary.official_responses
        ],
        "actions": [_action_document(a) for a in summary.actions],
    }


def _action_document(action: summaries.ActionSummary) -> dict[str, Any]:
    return {
        "reference": action.reference,
        "kind": action.kind.value,
        "title": action.title,
        "start_date": _iso(action.start_date),
        "end_date": _iso(action.end_date),
        "status": action.status.value,
        "impact": action.impact.value,
        "signatures": action.signatures,
        "participants": action.participants,
        "responses": [{"kind": r.kind.value, "date": _iso(r.date)} for r in action.responses],
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
