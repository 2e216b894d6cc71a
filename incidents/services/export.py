"""Exports driven by field classes: each profile writes only the classes it allows.

Records stream out in batches, so memory stays bounded however large the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.keys import KeyProvider
from incidents.crypto.vault import FieldVault, secret_field_names
from incidents.db import FieldClass, field_class_of
from incidents.models import (
    Act,
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    Consent,
    Evidence,
    FollowUp,
    Incident,
    IncidentViolation,
    Involvement,
    Organisation,
    Person,
    Report,
    Source,
    StateResponse,
    Team,
    action_organisations,
)
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile, plain_value, visible_values
from incidents.repositories import export as export_queries

EXPORT_FORMAT = "incidents-export/1"
BATCH = 500

# Export order: referenced records before the records that refer to them.
EXPORTED_MODELS: list[type[Any]] = [
    Team,
    Organisation,
    Incident,
    IncidentViolation,
    StateResponse,
    Source,
    Report,
    Person,
    Consent,
    Act,
    Involvement,
    Evidence,
    Campaign,
    AdvocacyAction,
    ActionResponse,
    FollowUp,
    ActionLink,
]

CLI_PROFILES = (Profile.FULL, Profile.INTERNAL)


def _rows(
    session: Session, model: type[Any], classes: frozenset[FieldClass], provider: KeyProvider
) -> Iterator[dict[str, Any]]:
    decrypt = FieldClass.SECRET in classes and bool(secret_field_names(model))
    # Columns only: no relationship is loaded, so each batch is all that is held.
    for record in export_queries.stream_records(session, model, BATCH):
        decrypted = None
        if decrypt:
            # A vault per record: its cache of unwrapped keys must not grow with the export.
            decrypted = FieldVault(session, provider).unseal(record)
        yield visible_values(record, classes, decrypted)
        session.expunge(record)


def _association_rows(session: Session, classes: frozenset[FieldClass]) -> Iterator[dict[str, Any]]:
    columns = [c for c in action_organisations.columns if field_class_of(c) in classes]
    if not columns:
        return
    for row in export_queries.stream_rows(session, columns):
        yield {column.key: plain_value(value) for column, value in zip(columns, row, strict=True)}


def count_exported(session: Session) -> int:
    """How many records an export will write (for a progress bar)."""
    tables = [model.__table__ for model in EXPORTED_MODELS] + [action_organisations]
    return export_queries.count_rows(session, tables)


def export_records(
    session: Session,
    provider: KeyProvider,
    actor: Actor,
    profile: Profile,
    out: IO[str],
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write a JSON export of `profile` to `out`; return the count of records per table.

    `progress`, when given, is called with the number of records written since its last call.
    """
    classes = PROFILE_FIELD_CLASSES[profile]
    counts: dict[str, int] = {}
    header = {
        "format": EXPORT_FORMAT,
        "profile": profile.value,
        "generated_at": datetime.now(UTC).isoformat(),
        "field_classes": sorted(c.value for c in classes),
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "records": {')
    sections: list[tuple[str, Iterator[dict[str, Any]]]] = [
        (model.__tablename__, _rows(session, model, classes, provider)) for model in EXPORTED_MODELS
    ]
    sections.append((action_organisations.name, _association_rows(session, classes)))
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
    record_event(
        session,
        actor,
        "export",
        detail={"profile": profile.value, "format": "json", "records": sum(counts.values())},
    )
    return counts
