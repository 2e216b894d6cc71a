"""Exports driven by field classes: each profile writes only the classes it allows.

An export is recorded in the audit log before its first byte is written (`start_export`;
the boundary commits it), then streamed in batches (`write_export`), so memory stays
bounded however large the database and no export ever leaves unrecorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass, field_class_of
from incidents.models import IncidentViolation, Team, action_organisations
from incidents.permissions import Permission, ensure
from incidents.records.kinds import KINDS
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile, visible_values
from incidents.repositories import export as export_queries
from incidents.serialise import plain
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

CLI_PROFILES = (Profile.FULL, Profile.INTERNAL)
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
