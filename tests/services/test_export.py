"""Exports write only the field classes of their profile, decrypt secrets only for `full`,
count what they write, and leave one audit event."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, table
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import FieldClass, columns_of_class, secret_columns
from incidents.models import AuditEvent
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile
from incidents.services import demo
from incidents.services.export import (
    EXPORT_FORMAT,
    EXPORTED_MODELS,
    RECORD_PROFILES,
    start_export,
    write_export,
)
from incidents.vault import FieldVault, secret_field_names
from tests.conftest import CHANCE_MATCH
from tests.factories import IncidentFactory, PersonFactory, SourceFactory
from tests.helpers import events

HEADER_KEYS = {"format", "profile", "generated_at", "field_classes", "records"}
SYSTEM_NAMES = {"password_hash", "wrapped_key", "storage_key", "token_hash", "master_key_id"}
NEVER_EXPORTED_TABLES = {"users", "user_roles", "api_tokens", "data_keys", "audit_events"}
SECRET_TABLES = sorted({t.name for t, _column in secret_columns()})

Secrets = dict[str, dict[str, dict[str, str | None]]]  # table -> record id -> field -> value


def _canaries() -> dict[str, str]:
    return {name: f"CANARY-{name}-{uuid.uuid4().hex}" for name in ("a", "b", "c", "d", "e", "f")}


@pytest.fixture
def canaries(db_session: Session, ctx: Context) -> dict[str, str]:
    """The demo case, plus records whose every secret field holds a unique canary."""
    demo.seed(ctx)
    values = _canaries()
    PersonFactory(
        secrets={
            "full_name": values["a"],
            "aliases": values["b"],
            "date_of_birth": values["c"],
            "contact": values["d"],
        }
    )
    SourceFactory(secrets={"identity": values["e"], "contact": None, "protective_notes": None})
    IncidentFactory(secrets={"narrative": values["f"], "place_detail": ""})
    db_session.flush()
    return values


@pytest.fixture
def stored_secrets(db_session: Session, vault: FieldVault, canaries: dict[str, str]) -> Secrets:
    """Every secret value in the database, decrypted — read before an export detaches rows."""
    found: Secrets = {}
    for model in EXPORTED_MODELS:
        if not secret_field_names(model):
            continue
        rows = found.setdefault(model.__tablename__, {})
        for record in db_session.scalars(select(model)):
            rows[str(record.id)] = vault.unseal(record)
    return found


def _export(ctx: Context, profile: Profile) -> tuple[dict[str, Any], dict[str, int], str]:
    out = io.StringIO()
    plan = start_export(ctx, profile)
    counts = write_export(ctx, plan, out)
    assert plan.records == sum(counts.values()), "the plan counts what is written"
    text = out.getvalue()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"the {profile.value} export is not valid JSON: {exc}\n{text[:2000]}")
    return document, counts, text


def _export_events(session: Session) -> list[AuditEvent]:
    return events(session, "export")


@pytest.mark.parametrize("profile", RECORD_PROFILES, ids=lambda p: p.value)
def test_export_header_counts_system_columns_and_audit_event(
    db_session: Session, ctx: Context, canaries: dict[str, str], profile: Profile
) -> None:
    events_before = len(_export_events(db_session))
    document, counts, text = _export(ctx, profile)

    assert set(document) == HEADER_KEYS
    assert document["format"] == EXPORT_FORMAT
    assert document["profile"] == profile.value
    assert datetime.fromisoformat(document["generated_at"]).tzinfo is not None
    assert document["field_classes"] == sorted(c.value for c in PROFILE_FIELD_CLASSES[profile])

    records = document["records"]
    assert set(records) == set(counts)
    assert counts == {name: len(rows) for name, rows in records.items()}
    for name, count in counts.items():
        in_database = db_session.scalar(select(func.count()).select_from(table(name)))
        assert count == in_database, f"{name}: exported {count} of {in_database} rows"
    assert counts["incidents"] >= 4 and counts["advocacy_actions"] >= 10

    # System columns (credentials, keys, bookkeeping) leave in no profile, not even `full`.
    assert not NEVER_EXPORTED_TABLES & set(records)
    for table_, column in columns_of_class(FieldClass.SYSTEM):
        for row in records.get(table_.name, []):
            assert column.key not in row, f"system column {table_.name}.{column.key} exported"
    for name in SYSTEM_NAMES:
        assert f'"{name}"' not in text, f"{name} appears in the {profile.value} export"

    exports = _export_events(db_session)
    assert len(exports) == events_before + 1, "an export must add exactly one audit event"
    event = exports[-1]
    assert event.actor == "cli:tests"
    assert event.detail == {
        "profile": profile.value,
        "format": "json",
        "records": sum(counts.values()),
    }


@pytest.mark.parametrize("profile", [Profile.INTERNAL], ids=lambda p: p.value)
def test_redacted_exports_carry_no_secret(
    ctx: Context,
    stored_secrets: Secrets,
    canaries: dict[str, str],
    profile: Profile,
) -> None:
    document, _counts, text = _export(ctx, profile)
    records = document["records"]
    for secret_table in SECRET_TABLES:
        assert records.get(secret_table), f"no {secret_table} exported: the check would be empty"
    for table_, column in secret_columns():
        for row in records.get(table_.name, []):
            assert column.key not in row, f"secret column {table_.name}.{column.key} exported"

    values = {
        value
        for rows in stored_secrets.values()
        for fields in rows.values()
        for value in fields.values()
        # Short runs of digits (a year of birth such as "1988") turn up by chance in
        # UUIDs and timestamps; the column check above already keeps those fields out.
        if value and len(value) >= 4 and not CHANCE_MATCH.fullmatch(value)
    }
    assert set(canaries.values()) <= values
    leaked = sorted(value for value in values if value in text)
    assert not leaked, f"secret values in the {profile.value} export: {leaked}"


@pytest.mark.parametrize("profile", [Profile.PARTNER, Profile.PUBLIC], ids=lambda p: p.value)
def test_outside_profiles_export_no_records(ctx: Context, profile: Profile) -> None:
    with pytest.raises(ValueError, match="case summaries"):
        start_export(ctx, profile)


def test_full_export_carries_the_decrypted_secrets(
    ctx: Context, stored_secrets: Secrets, canaries: dict[str, str]
) -> None:
    document, _counts, text = _export(ctx, Profile.FULL)
    records = document["records"]
    for value in canaries.values():
        assert value in text
    checked = 0
    for table_name, expected_rows in stored_secrets.items():
        exported = {row["id"]: row for row in records[table_name]}
        assert set(exported) == set(expected_rows), f"{table_name}: records missing"
        for record_id, expected in expected_rows.items():
            row = exported[record_id]
            for field, value in expected.items():
                assert row[field] == value, f"{table_name} {record_id}: {field} differs"
                checked += value is not None
    assert checked > 40, "too few secret values to mean anything"


def test_progress_reports_every_record_once(ctx: Context) -> None:
    for _ in range(3):
        IncidentFactory()
    reported: list[int] = []
    plan = start_export(ctx, Profile.INTERNAL)
    counts = write_export(ctx, plan, io.StringIO(), reported.append)
    assert sum(reported) == sum(counts.values()) == plan.records
    assert sum(counts.values()) > 3
