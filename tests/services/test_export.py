"""Record exports write documents of the field classes of their profile, decrypt secrets
only for `full`, hold only the teams the exporter may read, leave erased records out,
count what they write, and leave one audit event — in JSON and in CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import FieldClass, columns_of_class, field_class_of
from incidents.errors import NotFound, PermissionDenied
from incidents.models import AuditEvent, Erasure, Person
from incidents.models.vocabularies import Role
from incidents.records.fields import Lines
from incidents.records.kinds import KINDS, kind_named
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile
from incidents.services import demo, erasure, export_records
from incidents.services.csv_layout import export_columns, neutralise, template_columns
from incidents.services.documents import SEALED, WITHHELD
from incidents.services.export import (
    EXPORT_FORMAT,
    RECORD_PROFILES,
    start_export,
    write_export,
)
from incidents.vault import FieldVault, secret_field_names
from tests.conftest import CHANCE_MATCH
from tests.factories import (
    ActFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_statements, events

HEADER_KEYS = {"format", "profile", "generated_at", "field_classes", "teams", "records"}
SYSTEM_NAMES = {"password_hash", "wrapped_key", "storage_key", "token_hash", "master_key_id"}
NEVER_EXPORTED = {"users", "user_roles", "api_tokens", "data_keys", "audit_events", "teams"}
SECRET_KINDS = [k for k in KINDS if secret_field_names(k.model)]

Secrets = dict[str, dict[str, dict[str, str | None]]]  # kind -> record id -> field -> value


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
    for kind in SECRET_KINDS:
        rows = found.setdefault(kind.name, {})
        for record in db_session.scalars(select(kind.model)):
            rows[str(record.id)] = vault.unseal(record)
    return found


def _export(
    ctx: Context, profile: Profile, **options: Any
) -> tuple[dict[str, Any], dict[str, int], str]:
    out = io.StringIO()
    plan = start_export(ctx, profile, **options)
    counts = write_export(ctx, plan, out)
    assert plan.records == sum(counts.values()), "the plan counts what is written"
    text = out.getvalue()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"the {profile.value} export is not valid JSON: {exc}\n{text[:2000]}")
    return document, counts, text


def _zip_export(ctx: Context, profile: Profile) -> tuple[dict[str, list[dict[str, str]]], bytes]:
    """A CSV export of every kind: each kind's rows as dicts by column, and the raw ZIP."""
    out = io.BytesIO()
    plan = start_export(ctx, profile, fmt="csv")
    counts = write_export(ctx, plan, out)
    data = out.getvalue()
    tables: dict[str, list[dict[str, str]]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [f"{k.name}.csv" for k in KINDS]
        for kind in KINDS:
            text = archive.read(f"{kind.name}.csv").decode("utf-8")
            reader = csv.reader(io.StringIO(text, newline=""))
            header = next(reader)
            assert tuple(header) == export_columns(kind, plan.classes)
            tables[kind.name] = [dict(zip(header, row, strict=True)) for row in reader]
            assert len(tables[kind.name]) == counts[kind.name]
    return tables, data


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
    assert "north-caucasus" in {team["slug"] for team in document["teams"]}

    records = document["records"]
    assert list(records) == [kind.name for kind in KINDS], "every kind, in dependency order"
    assert counts == {name: len(docs) for name, docs in records.items()}
    for kind in KINDS:
        in_database = len(db_session.scalars(select(kind.model)).all())
        assert counts[kind.name] == in_database, f"{kind.name}: {counts[kind.name]} exported"
    assert counts["incident"] >= 4 and counts["advocacy_action"] >= 10
    incident = records["incident"][0]
    assert {"id", "reference", "team", "lock_version", "title", "violation_types"} <= set(incident)

    # System columns (credentials, keys, bookkeeping) leave in no profile, not even `full`.
    assert not NEVER_EXPORTED & set(records)
    for table, column in columns_of_class(FieldClass.SYSTEM):
        for kind in KINDS:
            if kind.table == table.name:
                for doc in records[kind.name]:
                    assert column.key not in doc, f"system column {table.name}.{column.key}"
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
        "counts": counts,
        "teams": sorted(team["slug"] for team in document["teams"]),
    }


def _stored_values(stored_secrets: Secrets) -> set[str]:
    return {
        part
        for rows in stored_secrets.values()
        for fields in rows.values()
        for value in fields.values()
        if value
        for part in value.split("\n")  # other names: one per line
        # Short runs of digits (a year of birth such as "1988") turn up by chance in
        # UUIDs and timestamps; the field checks already keep those fields out.
        if len(part) >= 4 and not CHANCE_MATCH.fullmatch(part)
    }


def test_internal_exports_carry_no_secret_in_either_format(
    ctx: Context, stored_secrets: Secrets, canaries: dict[str, str]
) -> None:
    document, _counts, text = _export(ctx, Profile.INTERNAL)
    tables, _data = _zip_export(ctx, Profile.INTERNAL)
    records = document["records"]
    for kind in SECRET_KINDS:
        assert records[kind.name], f"no {kind.name} exported: the check would be empty"
        secret = set(secret_field_names(kind.model))
        for doc in records[kind.name]:
            assert not secret & set(doc), f"secret field of {kind.name} exported"
            assert secret <= set(doc[WITHHELD]), "what is left out is named"
            assert SEALED not in doc
        assert not secret & set(tables[kind.name][0]), f"secret column in {kind.name}.csv"

    values = _stored_values(stored_secrets)
    assert set(canaries.values()) <= values
    csv_text = "".join(str(row) for rows in tables.values() for row in rows)
    for where, body in (("JSON", text), ("CSV", csv_text)):
        leaked = sorted(value for value in values if value in body)
        assert not leaked, f"secret values in the internal {where} export: {leaked}"


@pytest.mark.parametrize("profile", [Profile.PARTNER, Profile.PUBLIC], ids=lambda p: p.value)
def test_outside_profiles_export_no_records(ctx: Context, profile: Profile) -> None:
    with pytest.raises(ValueError, match="case summaries"):
        start_export(ctx, profile)


def test_full_export_carries_the_decrypted_secrets_in_either_format(
    ctx: Context, stored_secrets: Secrets, canaries: dict[str, str]
) -> None:
    document, _counts, text = _export(ctx, Profile.FULL)
    tables, _data = _zip_export(ctx, Profile.FULL)
    records = document["records"]
    for value in canaries.values():
        assert value in text
    checked = 0
    for kind_name, expected_rows in stored_secrets.items():
        kind = kind_named(kind_name)
        lines = {spec.name for spec in kind.fields if isinstance(spec, Lines)}
        exported = {doc["id"]: doc for doc in records[kind_name]}
        rows = {row["id"]: row for row in tables[kind_name]}
        assert set(exported) == set(expected_rows) == set(rows), f"{kind_name}: records missing"
        for record_id, expected in expected_rows.items():
            doc, row = exported[record_id], rows[record_id]
            assert SEALED not in doc and WITHHELD not in doc, "full withholds nothing"
            for field, value in expected.items():
                got = "\n".join(doc[field]) if field in lines else doc[field]
                assert (got or None) == (value or None), f"{kind_name} {record_id}: {field}"
                assert row[field] == neutralise(value or ""), f"{field} in the CSV"
                checked += value is not None
    assert checked > 40, "too few secret values to mean anything"


def test_progress_reports_every_record_once(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_records, "BATCH", 2)
    for _ in range(5):
        IncidentFactory()
    ReportFactory()
    reported: list[int] = []
    plan = start_export(ctx, Profile.INTERNAL)
    counts = write_export(ctx, plan, io.StringIO(), reported.append)
    assert sum(reported) == sum(counts.values()) == plan.records == 6
    assert reported == [2, 2, 1, 1], "once a batch: the incidents two at a time, the report"


def test_a_users_export_holds_only_their_teams_records(
    db_session: Session, context_for: Any
) -> None:
    mine, theirs = TeamFactory(), TeamFactory()
    own = {
        "incident": IncidentFactory(team_id=mine.id, secrets={"narrative": "OWN-NARRATIVE-8Q"}),
        "advocacy_action": AdvocacyActionFactory(team_id=mine.id),
    }
    other_incident = IncidentFactory(team_id=theirs.id, secrets={"narrative": "OTHER-TEAM-5Z"})
    other_action = AdvocacyActionFactory(team_id=theirs.id)
    other_response = ActionResponseFactory(action_id=other_action.id, text="OTHER-RESPONSE-3K")
    own_response = ActionResponseFactory(action_id=own["advocacy_action"].id)
    researcher = context_for(UserFactory(role=Role.RESEARCHER, teams=[mine]))
    ids = {name: str(record.id) for name, record in own.items()}
    others = {str(other_incident.id), str(other_action.id), str(other_response.id)}
    own_response_id = str(own_response.id)

    for profile in RECORD_PROFILES:
        document, counts, text = _export(researcher, profile)
        assert document["teams"] == [{"slug": mine.slug, "name": mine.name}]
        exported = {doc["id"] for docs in document["records"].values() for doc in docs}
        assert set(ids.values()) | {own_response_id} <= exported
        assert not others & exported, f"another team's record in the {profile.value} export"
        assert "OTHER-TEAM-5Z" not in text and "OTHER-RESPONSE-3K" not in text
        assert counts["incident"] == 1 and counts["action_response"] == 1
        assert ("OWN-NARRATIVE-8Q" in text) is (profile is Profile.FULL)
        event = events(db_session, "export", actor=researcher.actor.label)[-1]
        assert event.detail is not None and event.detail["teams"] == [mine.slug]

    with pytest.raises(NotFound):
        start_export(researcher, Profile.INTERNAL, teams=[theirs.id])


def test_the_profile_needs_its_permission(db_session: Session, context_for: Any) -> None:
    team = TeamFactory()
    auditor = context_for(UserFactory(role=Role.AUDITOR, teams=[team]))
    lead = context_for(UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]))
    before = len(_export_events(db_session))
    with pytest.raises(PermissionDenied):
        start_export(auditor, Profile.FULL)
    for profile in RECORD_PROFILES:
        with pytest.raises(PermissionDenied):
            start_export(lead, profile)
    assert len(_export_events(db_session)) == before, "a refused export is not recorded"
    document, _counts, _text = _export(auditor, Profile.INTERNAL)
    assert "secret" not in document["field_classes"]


def test_erased_records_are_left_out(ctx: Context, db_session: Session) -> None:
    act = ActFactory()
    person = db_session.get(Person, act.person_id)
    kept = PersonFactory(team_id=act.team_id)
    erasure.erase_record(ctx, person.reference, "consent_withdrawn")
    shredded = set(db_session.scalars(select(Erasure.record_id)))
    assert {person.id, act.id} <= shredded

    document, counts, _text = _export(ctx, Profile.FULL)
    exported = {doc["id"] for docs in document["records"].values() for doc in docs}
    assert not {str(record_id) for record_id in shredded} & exported
    assert str(kept.id) in exported
    assert counts["person"] == 1 and counts["act"] == 0


def test_one_kind_as_one_csv(ctx: Context) -> None:
    report = ReportFactory(title="A report title")
    out = io.StringIO()
    plan = start_export(ctx, Profile.INTERNAL, fmt="csv", kind="report")
    assert plan.suffix == "csv"
    counts = write_export(ctx, plan, out)
    assert counts == {"report": 1}
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    header, (row,) = rows[0], rows[1:]
    kind = kind_named("report")
    # The template's columns, less the account (secret), then what is recorded.
    assert header[: len(template_columns(kind)) - 1] == [
        c for c in template_columns(kind) if c != "narrative"
    ]
    values = dict(zip(header, row, strict=True))
    assert values["id"] == str(report.id) and values["title"] == "A report title"
    assert values["received_on"] == "2017-04-01" and values["reference"] == report.reference
    with pytest.raises(ValueError, match="binary"):
        write_export(ctx, start_export(ctx, Profile.INTERNAL, fmt="csv"), io.StringIO())


FORMULAS = ['=HYPERLINK("http://x.example","y")', "+1", "-2", "@x", "\tTab", "\rReturn"]


def test_csv_cells_that_look_like_formulas_are_neutralised(ctx: Context) -> None:
    team = TeamFactory()
    for title in FORMULAS:
        IncidentFactory(team_id=team.id, title=title, region=title)
    tables, _data = _zip_export(ctx, Profile.INTERNAL)
    titles = sorted(row["title"] for row in tables["incident"])
    regions = sorted(row["region"] for row in tables["incident"])
    assert titles == regions == sorted(f"'{title}" for title in FORMULAS)


def test_the_statements_of_a_full_export_do_not_grow_with_its_records(
    app: Flask, ctx: Context, db_session: Session
) -> None:
    team = TeamFactory()

    def add_records() -> None:
        act = ActFactory(team_id=team.id)
        ReportFactory(team_id=team.id, incident_id=act.incident_id)
        action = AdvocacyActionFactory(team_id=team.id)
        ActionResponseFactory(action_id=action.id)

    def statements() -> int:
        with count_statements(app) as seen:
            write_export(ctx, start_export(ctx, Profile.FULL), io.BytesIO())
        return seen.count

    add_records()
    few = statements()
    for _ in range(12):
        add_records()
    assert statements() == few, "statements per record: the export reads row by row"


def test_every_secret_column_is_a_field_or_recorded() -> None:
    """A secret column that a document would not carry would vanish from full exports."""
    for kind in KINDS:
        columns = set(export_columns(kind, PROFILE_FIELD_CLASSES[Profile.FULL]))
        for column in kind.model.__table__.columns:
            if field_class_of(column) is FieldClass.SECRET:
                assert column.key in columns, f"{kind.name}.{column.key} is not exported"
