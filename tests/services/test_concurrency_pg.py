"""Concurrency on PostgreSQL, with real concurrent sessions and nothing serialised by the
test: two editors saving one record at the same moment (the second's transaction waits on
the first's locks, then finds the version moved: a conflict page with their text kept),
and a key rotation in its own process while records are created and edited (no deadlock —
every lock wait is bounded, so one fails fast instead of hanging — every record still
decrypts, and no data key is left under the old key once the rotation has completed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from incidents import migrate
from incidents.crypto import envelope
from incidents.crypto.keys import MasterKey, generate_master_key, load_key_file, write_key_file
from incidents.extensions import db
from incidents.models import DataKey, Incident, Team, TeamMembership, User, UserRole
from incidents.models.vocabularies import Role
from incidents.records.kinds import INCIDENT
from incidents.services import records, sessions
from incidents.vault import FieldVault
from incidents.web.boundary import SESSION_TOKEN_KEY
from tests import factories, helpers
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    PostgresDatabase,
    make_test_app,
    skip_without_postgres,
)

pytestmark = pytest.mark.postgres

ENTRY_POINT = "from incidents.cli import main; main()"
# Every lock wait and statement of these tests is bounded: a deadlock or a lock held
# for good fails within seconds instead of hanging the suite.
BOUNDED = "-c lock_timeout=5000 -c statement_timeout=20000"
FORM_FIELD = re.compile(r'name="(csrf_token|draft_fields|lock_version|opened)"[^>]*value="([^"]*)"')


@dataclass
class Installation:
    database: PostgresDatabase
    engine: Engine  # bounded waits, straight to the database
    team: Team
    researchers: list[User]


@pytest.fixture
def installation() -> Iterator[Installation]:
    skip_without_postgres()
    database = PostgresDatabase("concurrency")
    engine = create_engine(database.url, connect_args={"options": BOUNDED})
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        team = Team(slug="concurrency", name="Concurrency")
        session.add(team)
        session.flush()
        researchers = [_researcher(team, name) for name in ("first", "second")]
        session.add_all(researchers)
        session.commit()
    try:
        yield Installation(database, engine, team, researchers)
    finally:
        engine.dispose()
        database.drop()


def _researcher(team: Team, name: str) -> User:
    return User(
        email=f"{name}@example.org",
        display_name=name,
        password_hash=factories.default_password_hash(),
        is_active=True,
        roles=[UserRole(role=Role.RESEARCHER)],
        memberships=[TeamMembership(team_id=team.id)],
    )


def _app(installation: Installation, tmp_path: Path, key: MasterKey, **settings: Any) -> Flask:
    app = make_test_app(installation.database.url, tmp_path / "instance", key, **settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


# -- two editors of one record ------------------------------------------------------------


def _logged_in(app: Flask, user: User) -> FlaskClient:
    with app.app_context(), Session(db.engine) as session:
        token, _ = sessions.start_session(helpers.context(session, app, None), user, "tests")
        session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie[SESSION_TOKEN_KEY] = token
        cookie["_user_id"] = str(user.id)
        cookie["_fresh"] = True
    return client


def _edit_form(client: FlaskClient, reference: str) -> dict[str, str]:
    page = client.get(f"/incidents/{reference}/edit")
    assert page.status_code == 200
    return dict(FORM_FIELD.findall(page.get_data(as_text=True)))


def _waiting_on_a_lock(database: str) -> bool:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        ).fetchone()
    return row is not None and row[0] > 0


def test_two_editors_saving_at_once_one_saves_the_other_gets_the_conflict_page(
    installation: Installation, tmp_path: Path
) -> None:
    key = generate_master_key()
    app = _app(installation, tmp_path, key)
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        factories.bind(helpers.context(session, app))
        incident = factories.IncidentFactory(
            team_id=installation.team.id, title="Detentions", secrets={"narrative": "As opened."}
        )
        session.commit()
        factories.unbind()
    reference = incident.reference
    first, second = (_logged_in(app, user) for user in installation.researchers)
    forms = {"first": _edit_form(first, reference), "second": _edit_form(second, reference)}
    assert forms["first"]["lock_version"] == forms["second"]["lock_version"]

    # The first editor's transaction stops once it has written the record, before its
    # commit, until the second editor's transaction is waiting on a lock the first holds.
    first_flushed = threading.Event()

    def hold_first(session: Session, _flush: object) -> None:
        writes_the_record = any(isinstance(row, Incident) for row in session.dirty)
        if threading.current_thread().name == "first" and writes_the_record:
            first_flushed.set()
            deadline = time.monotonic() + 10
            while not _waiting_on_a_lock(installation.database.name):
                assert time.monotonic() < deadline, "the second save never reached the row"
                time.sleep(0.02)

    answers: dict[str, Any] = {}
    errors: list[BaseException] = []

    def save(name: str, client: FlaskClient) -> None:
        try:
            if name == "second":
                assert first_flushed.wait(timeout=10)
            typed = {**forms[name], "title": "Detentions", "narrative": f"Typed by {name}."}
            answers[name] = client.post(f"/incidents/{reference}/edit", data=typed)
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)
            first_flushed.set()

    event.listen(Session, "after_flush", hold_first)
    try:
        threads = [
            threading.Thread(target=save, name=name, args=(name, client))
            for name, client in (("first", first), ("second", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(Session, "after_flush", hold_first)
    assert errors == []
    assert answers["first"].status_code == 302
    conflict = answers["second"]
    page = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert "while you were editing" in page and "Typed by second." in page  # kept
    with app.app_context(), Session(db.engine) as session:
        stored = session.scalars(select(Incident).where(Incident.reference == reference)).one()
        vault = FieldVault(session, helpers.key_provider(app))
        assert vault.unseal(stored, "narrative") == {"narrative": "Typed by first."}
        assert stored.lock_version == int(forms["first"]["lock_version"]) + 1
    with app.app_context():
        db.engine.dispose()


# -- key rotation while records are written -----------------------------------------------

SEEDED_DATA_KEYS = 200  # enough for the rotation to take many batches
PAUSE_SECONDS = 0.2  # between one writer's transactions: a busy office, not a flood


def _seed_data_keys(engine: Engine, key_file: Path, team_id: uuid.UUID) -> None:
    master = load_key_file(key_file).primary()
    rows = []
    for _ in range(SEEDED_DATA_KEYS):
        record = uuid.uuid4()
        wrapped = envelope.wrap_data_key(
            master, envelope.new_data_key(), "persons", record, team_id
        )
        rows.append(
            {
                "id": uuid.uuid4(),
                "record_table": "persons",
                "record_id": record,
                "team_id": team_id,
                "master_key_id": master.key_id,
                "wrapped_key": wrapped,
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(DataKey), rows)


@pytest.mark.slow  # a rotation in a process of its own, alongside writers
def test_a_rotation_while_records_are_written_deadlocks_nothing_and_leaves_nothing_behind(
    installation: Installation, tmp_path: Path
) -> None:
    old = generate_master_key()
    key_file = tmp_path / "master.key"
    write_key_file(key_file, [old], old.key_id)
    app = _app(installation, tmp_path, old, master_key="", master_key_file=str(key_file))
    _seed_data_keys(installation.engine, key_file, installation.team.id)
    researcher = installation.researchers[0]
    make_session = sessionmaker(installation.engine, expire_on_commit=False)

    def as_researcher(session: Session) -> Any:
        # The key file as it is now, as a process started now would read it.
        user = session.get(User, researcher.id)
        return helpers.context(session, app, user).with_keys(load_key_file(key_file))

    with make_session() as session:
        ctx = as_researcher(session)
        existing = [
            records.create(
                ctx,
                INCIDENT,
                {"title": f"Before {n}", "narrative": f"Written before {n}."},
                team_id=installation.team.id,
            ).reference
            for n in range(5)
        ]
        session.commit()

    rotating = threading.Event()
    stop = threading.Event()
    done: dict[str, int] = {"created": 0, "edited": 0}
    errors: list[BaseException] = []

    def keep_writing(name: str, work: Callable[[Session, int], None]) -> None:
        n = 0
        try:
            rotating.wait(timeout=30)
            while not stop.is_set():
                with make_session() as session:
                    work(session, n)
                    session.commit()
                n += 1
                done[name] = n
                time.sleep(PAUSE_SECONDS)
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)

    def create(session: Session, n: int) -> None:
        records.create(
            as_researcher(session),
            INCIDENT,
            {"title": f"During {n}", "narrative": f"Written during the rotation {n}."},
            team_id=installation.team.id,
        )

    def edit(session: Session, n: int) -> None:
        reference = existing[n % len(existing)]
        ctx = as_researcher(session)
        current = session.scalars(select(Incident).where(Incident.reference == reference)).one()
        records.update(
            ctx,
            INCIDENT,
            reference,
            {"narrative": f"Edited during the rotation {n}."},
            lock_version=current.lock_version,
        )

    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    env |= {
        "INCIDENTS_DATABASE_URL": installation.database.url,
        "INCIDENTS_MASTER_KEY_FILE": str(key_file),
        "INCIDENTS_INSTANCE_PATH": str(tmp_path / "cli-instance"),
        "INCIDENTS_SECRET_KEY": "x" * 40,
        "PGOPTIONS": BOUNDED,
    }
    writers = [
        threading.Thread(target=keep_writing, args=("created", create)),
        threading.Thread(target=keep_writing, args=("edited", edit)),
    ]
    for writer in writers:
        writer.start()
    started = time.monotonic()
    try:
        rotating.set()
        rotation = subprocess.run(
            [sys.executable, "-c", ENTRY_POINT, "keys", "rotate", "--batch-size", "20"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
    elapsed = time.monotonic() - started
    assert rotation.returncode == 0, rotation.stderr
    assert errors == [], errors
    assert done["created"] > 0 and done["edited"] > 0, done

    provider = load_key_file(key_file)
    assert provider.primary().key_id != old.key_id
    with make_session() as session:
        left = session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.master_key_id == old.key_id)
        )
        assert left == 0, f"{left} data keys still under the old key"
        vault = FieldVault(session, provider)
        incidents = session.scalars(select(Incident)).all()
        assert len(incidents) == len(existing) + done["created"]
        for incident in incidents:
            assert vault.unseal(incident, "narrative")["narrative"]  # decrypts
    print(
        f"{rotation.stdout.strip()}: {elapsed:.1f}s alongside "
        f"{done['created']} creations and {done['edited']} edits"
    )
    with app.app_context():
        db.engine.dispose()
