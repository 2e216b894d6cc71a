"""The round trip: the demo case exported in full from one database and imported into a
second, empty one — with the same accounts but master keys of its own — exports again as
the same records with the same plaintext, under different data keys."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.context import Context
from incidents.crypto.keys import generate_master_key
from incidents.extensions import db
from incidents.models import Act, DataKey, Incident, Person
from incidents.redaction import Profile
from incidents.services import accounts, demo, erasure, imports
from incidents.services.export import start_export, write_export
from tests import factories, helpers
from tests.conftest import PostgresDatabase, make_test_app, skip_without_postgres

# What a database records of itself when a record is written there, not what it says.
OWN_BOOKKEEPING = ("created_at", "updated_at", "lock_version")


@pytest.fixture
def second_app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    """Another installation on the same kind of database: empty, migrated, and with a
    master key of its own."""
    postgres = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'second.db'}"
    else:
        skip_without_postgres()
        postgres = PostgresDatabase("second")
        url = postgres.url
    app = make_test_app(url, tmp_path / "second", generate_master_key())
    with app.app_context():
        migrate.upgrade(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if postgres is not None:
            postgres.drop()


def _export(ctx: Context) -> dict[str, Any]:
    out = io.BytesIO()
    write_export(ctx, start_export(ctx, Profile.FULL), out)
    exported: dict[str, Any] = json.loads(out.getvalue())
    return exported


def _comparable(exported: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The records by kind and id, without what each database records of itself; lists
    (violation types, organisations) as sets, since they have no order."""
    return {
        kind: {
            doc["id"]: {
                k: sorted(v) if isinstance(v, list) and k != "aliases" else v
                for k, v in doc.items()
                if k not in OWN_BOOKKEEPING
            }
            for doc in docs
        }
        for kind, docs in exported["records"].items()
        if kind != "evidence"
    }


def _same_accounts(source: Context, target: Context) -> None:
    """The teams and accounts of `source` in `target`: the people the records name."""
    teams = {}
    for team in accounts.all_teams(source):
        teams[team.id] = accounts.create_team(target, team.slug, team.name)
    for user in accounts.all_users(source):
        accounts.create_user(
            target,
            user.email,
            user.display_name,
            factories.DEFAULT_PASSWORD,
            sorted(user.role_set),
            [teams[m.team_id] for m in user.memberships],
        )


@pytest.mark.slow
def test_the_demo_survives_export_and_import_into_another_installation(
    db_session: Session, ctx: Context, second_app: Flask
) -> None:
    demo.seed(ctx)
    first = _export(ctx)
    assert first["format"] == "incidents-records/1" and first["records"]["evidence"]
    first_incident = db_session.scalars(select(Incident)).first()
    assert first_incident is not None
    first_key = db_session.scalars(
        select(DataKey).where(DataKey.record_id == first_incident.id)
    ).one()
    with second_app.app_context():
        session = db.session
        target = helpers.context(session, second_app)
        _same_accounts(ctx, target)
        outcome = imports.plan_import(target, io.BytesIO(json.dumps(first).encode()))
        assert outcome.imported, [str(e) for e in outcome.errors]
        assert outcome.count("evidence").skipped == len(first["records"]["evidence"])
        session.commit()
        second = _export(target)
        compared = _comparable(first)
        assert _comparable(second) == compared
        assert sum(map(len, compared.values())) > 40 and all(compared.values())
        # Secrets went across opened: not sealed, and the same text.
        assert not any("sealed" in doc for docs in compared.values() for doc in docs.values())
        # The same plaintext under other keys: the records' data keys are new ones,
        # wrapped by the second installation's own master key.
        second_key = session.scalars(
            select(DataKey).where(DataKey.record_id == first_incident.id)
        ).one()
        assert second_key.master_key_id != first_key.master_key_id
        assert second_key.wrapped_key != first_key.wrapped_key
        person = session.scalars(select(Person)).first()
        assert person is not None
        assert person.full_name not in {
            p.full_name for p in db_session.scalars(select(Person)).all()
        }
        # Importing the export again changes nothing.
        again = imports.plan_import(target, io.BytesIO(json.dumps(first).encode()))
        assert again.imported
        assert all(c.created == 0 and c.updated == 0 for _kind, c in again.per_kind())
        session.rollback()


def test_a_full_csv_export_of_the_demo_imports_back_unchanged(
    db_session: Session, ctx: Context
) -> None:
    """Every kind's CSV as the export writes it — lists in one cell, fuzzy dates with their
    precision, formulas neutralised, the recorded columns — reads back as what is stored."""
    demo.seed(ctx)
    out = io.BytesIO()
    write_export(ctx, start_export(ctx, Profile.FULL, fmt="csv"), out)
    out.seek(0)
    outcome = imports.plan_import(ctx, out, name="export.zip")
    assert outcome.imported, [str(e) for e in outcome.errors]
    counts = dict(outcome.per_kind())
    assert counts["evidence"].skipped == 1
    assert all(
        c.created == 0 and c.updated == 0 and c.unchanged > 0
        for kind, c in counts.items()
        if kind != "evidence"
    ), counts


@pytest.mark.slow
def test_an_archive_with_an_erased_incident_still_goes_across(
    db_session: Session, ctx: Context, second_app: Flask
) -> None:
    """An erased incident leaves reports that named it and acts that needed it: the export
    empties the reports' link (and says so) and leaves the acts and their perpetrators
    out, so that the other installation can take the file whole."""
    demo.seed(ctx)
    erased = db_session.scalars(select(Incident).order_by(Incident.reference)).first()
    assert erased is not None
    erasure.erase_record(ctx, erased.reference, "entered_in_error")
    exported = _export(ctx)
    reports = exported["records"]["report"]
    orphaned = [r for r in reports if r.get("links_to_erased") == ["incident"]]
    assert orphaned and all(r["incident"] is None for r in orphaned)
    assert all(a["incident"] != str(erased.id) for a in exported["records"]["act"])
    stored_acts = db_session.scalars(select(Act)).all()
    assert len(exported["records"]["act"]) < len(stored_acts)  # the erased case's acts
    acts = {a["id"] for a in exported["records"]["act"]}
    assert all(i["act"] in acts for i in exported["records"]["involvement"])
    with second_app.app_context():
        target = helpers.context(db.session, second_app)
        _same_accounts(ctx, target)
        outcome = imports.plan_import(target, io.BytesIO(json.dumps(exported).encode()))
        assert outcome.imported, [str(e) for e in outcome.errors]
        assert outcome.count("report").created == len(reports)
        db.session.rollback()
