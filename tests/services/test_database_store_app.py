"""An installation with evidence_store = "database" on PostgreSQL: evidence uploaded and
downloaded through the pages lands in the database and nowhere else, a rolled-back upload
leaves nothing visible, erasure deletes the stored file, the sweep and the check read the
database store, and `incidents evidence move` moves every file both ways, checked and
resumable."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from incidents import migrate
from incidents.cli.evidence import evidence_group
from incidents.context import Context
from incidents.crypto.keys import MasterKey
from incidents.db import utcnow
from incidents.errors import ConfigurationError
from incidents.extensions import db
from incidents.models import Evidence, EvidenceBlob, Report, User
from incidents.models.vocabularies import Role
from incidents.services import health
from incidents.services.erasure import erase_record
from incidents.services.evidence import download, sweep
from incidents.services.evidence.policy import EvidenceTooLarge
from incidents.storage.database_store import DatabaseEvidenceStore
from incidents.storage.store import DirectoryEvidenceStore, new_storage_key
from tests import samples
from tests.conftest import PostgresDatabase, csrf_token, make_test_app, skip_without_postgres
from tests.factories import (
    IncidentFactory,
    ReportFactory,
    TeamFactory,
    UserFactory,
    stored_evidence,
)
from tests.helpers import enter, events, invoke

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[Flask]:
    """This module's application: PostgreSQL, the evidence kept in it (replaces the
    suite's app, so db_session, ctx and client run on this one)."""
    skip_without_postgres()
    database = PostgresDatabase("dbstore")
    instance = tmp_path_factory.mktemp("instance-dbstore")
    application = make_test_app(database.url, instance, master_key, evidence_store="database")
    with application.app_context():
        migrate.upgrade(db.engine)
    try:
        yield application
    finally:
        with application.app_context():
            db.engine.dispose()
        database.drop()


@pytest.fixture
def store(app: Flask) -> Iterator[DatabaseEvidenceStore]:
    """The application's store, emptied after each test (it writes outside the test's
    transaction, as a folder would)."""
    found = app.extensions["incidents.evidence_store"]
    assert isinstance(found, DatabaseEvidenceStore)
    yield found
    with found.engine.begin() as connection:
        connection.execute(EvidenceBlob.__table__.delete())


@pytest.fixture
def folder(app: Flask) -> Iterator[DirectoryEvidenceStore]:
    """The instance folder's store: where evidence is moved from, and back to."""
    directory = DirectoryEvidenceStore(Path(app.instance_path) / "evidence")
    yield directory
    for key in list(directory.keys()):
        directory.delete(key)


@dataclasses.dataclass
class Desk:
    report: Report
    researcher: User


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team = TeamFactory()
    incident = IncidentFactory(team_id=team.id)
    report = ReportFactory(team_id=team.id, incident_id=incident.id)
    return Desk(report, UserFactory(role=Role.RESEARCHER, teams=[team]))


def _upload(client: FlaskClient, report: Report, content: bytes) -> int:
    values: dict[str, object] = {
        "description": "",
        "csrf_token": csrf_token(client, "/incidents"),
        "file": FileStorage(io.BytesIO(content), filename="photo.png"),
    }
    boundary, body = encode_multipart(values)
    response = client.post(
        f"/reports/{report.reference}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    return response.status_code


def _plaintext(ctx: Context, evidence: Evidence) -> bytes:
    _details, content = download.open_evidence(ctx, evidence.id)
    with content:
        return b"".join(content)


def test_evidence_goes_up_and_down_through_the_pages_and_lives_in_the_database(
    client: FlaskClient,
    db_session: Session,
    desk: Desk,
    store: DatabaseEvidenceStore,
    folder: DirectoryEvidenceStore,
) -> None:
    enter(client, db_session, desk.researcher)
    content = samples.png(padding=3 * 1024 * 1024) + b"CANARY-db-store-5T1"  # several chunks
    assert _upload(client, desk.report, content) == 302
    query = select(Evidence).where(Evidence.report_id == desk.report.id)
    row = db_session.scalars(query).one()
    assert row.storage_key is not None and list(store.keys()) == [row.storage_key]
    assert list(folder.keys()) == []  # nothing in the instance folder
    with store.open_read(row.storage_key) as handle:
        stored = handle.read()
    assert b"CANARY-db-store" not in stored  # ciphertext only

    response = client.get(f"/evidence/{row.id}/download")
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and body == content


def test_an_upload_rolled_back_or_refused_leaves_no_visible_file(
    db_session: Session, ctx: Context, desk: Desk, store: DatabaseEvidenceStore
) -> None:
    savepoint = db_session.begin_nested()
    stored_evidence(store, desk.report)
    assert len(list(store.keys())) == 1  # written, visible, not yet committed by its row
    savepoint.rollback()
    assert list(store.keys()) == []
    with pytest.raises(EvidenceTooLarge):
        stored_evidence(store, desk.report, content=samples.png(padding=17 * 1024 * 1024))
    assert list(store.entries()) == []  # the unfinished write went too


def test_erasure_deletes_the_stored_file_once_it_commits(
    db_session: Session, ctx: Context, desk: Desk, store: DatabaseEvidenceStore
) -> None:
    evidence = stored_evidence(store, desk.report)
    db_session.commit()
    key = evidence.storage_key
    assert key is not None and _plaintext(ctx, evidence) == samples.png(padding=10_000)
    erase_record(ctx, desk.report.reference, "consent_withdrawn")
    assert store.exists(key)  # deleted only once the erasure commits
    db_session.commit()
    assert not store.exists(key) and list(store.entries()) == []


def test_the_sweep_removes_old_orphans_and_unfinished_writes_of_the_database(
    db_session: Session, ctx: Context, desk: Desk, store: DatabaseEvidenceStore
) -> None:
    named = stored_evidence(store, desk.report).storage_key
    orphan = new_storage_key()
    with store.open_write(orphan) as writer:
        writer.write(b"ciphertext nobody names")
    unfinished = store.open_write(new_storage_key())
    unfinished.write(b"half a file")
    with store.engine.begin() as connection:  # all of them written two hours ago
        connection.execute(update(EvidenceBlob).values(modified_at=utcnow() - timedelta(hours=2)))
    young = new_storage_key()
    with store.open_write(young) as writer:
        writer.write(b"an upload about to commit")

    outcome = sweep.sweep_store(ctx)
    assert [entry.key for entry in outcome.orphans] == [orphan]
    assert len(outcome.temporaries) == 1
    assert sorted(store.keys()) == sorted([named, young])
    assert [entry.temporary for entry in store.entries()] == [False, False]
    (event,) = events(db_session, "evidence.sweep")
    assert event.detail == {"orphans": 1, "temporaries": 1, "older_than_seconds": 3600}


def test_the_check_finds_missing_and_unnamed_files_in_the_database(
    db_session: Session, desk: Desk, store: DatabaseEvidenceStore
) -> None:
    key = stored_evidence(store, desk.report).storage_key
    assert key is not None
    finding = health.check_database_evidence_store(db_session, store.engine)
    assert finding.status is health.Status.OK, finding
    assert finding.detail == "in the database, writable; all 1 files present"
    orphan = new_storage_key()
    with store.open_write(orphan) as writer:
        writer.write(b"x")
    finding = health.check_database_evidence_store(db_session, store.engine)
    assert finding.status is health.Status.WARNING and "1 files no evidence row" in finding.detail
    store.delete(key)
    finding = health.check_database_evidence_store(db_session, store.engine)
    assert finding.status is health.Status.FAILING
    assert finding.detail.startswith("1 of 1 evidence files are missing from the database")
    assert health.check_database_evidence_store(None, store.engine).status is health.Status.WARNING


# -- evidence move -----------------------------------------------------------------------


def test_move_copies_every_file_checked_resumes_and_removes_the_old_copies(
    app: Flask,
    db_session: Session,
    ctx: Context,
    desk: Desk,
    store: DatabaseEvidenceStore,
    folder: DirectoryEvidenceStore,
) -> None:
    first = stored_evidence(folder, desk.report, content=samples.png(padding=20_000))
    second = stored_evidence(folder, desk.report, content=samples.png(padding=30_000))
    keys = sorted(str(e.storage_key) for e in (first, second))

    result = invoke(app, evidence_group, "move", "--to", "database")
    assert result.exit_code == 0, result.output
    assert "2 of 2 files in the database store (2 copied, 0 there already)" in result.output
    assert 'next: set evidence_store = "database"' in result.output
    assert sorted(store.keys()) == keys == sorted(folder.keys())  # the folder keeps its copies
    for key in keys:
        assert _ciphertext(store, key) == _ciphertext(folder, key)

    again = invoke(app, evidence_group, "move", "--to", "database")
    assert "(0 copied, 2 there already)" in again.output, again.output
    finished = invoke(app, evidence_group, "move", "--to", "database", "--delete-source")
    assert finished.exit_code == 0, finished.output
    assert "2 removed from the directory store" in finished.output
    assert list(folder.keys()) == [] and sorted(store.keys()) == keys
    assert _plaintext(ctx, first) == samples.png(padding=20_000)  # the app reads the database
    moves = [event.detail for event in events(db_session, "evidence.move")]
    assert moves == [
        {
            "from": "directory",
            "to": "database",
            "copied": 2,
            "present": 0,
            "missing": 0,
            "deleted": 0,
        },
        {
            "from": "directory",
            "to": "database",
            "copied": 0,
            "present": 2,
            "missing": 0,
            "deleted": 0,
        },
        {
            "from": "directory",
            "to": "database",
            "copied": 0,
            "present": 2,
            "missing": 0,
            "deleted": 2,
        },
    ]


def test_move_back_to_the_folder_waits_for_the_setting_before_removing_anything(
    app: Flask,
    db_session: Session,
    desk: Desk,
    store: DatabaseEvidenceStore,
    folder: DirectoryEvidenceStore,
) -> None:
    key = str(stored_evidence(store, desk.report).storage_key)
    refused = invoke(app, evidence_group, "move", "--to", "directory", "--delete-source")
    # The command's main() prints it as one line, "error: " and the message.
    assert isinstance(refused.exception, ConfigurationError)
    assert str(refused.exception) == (
        'the setting still names the database store: set evidence_store = "directory" '
        "and restart every server before removing the old copies"
    )
    assert list(folder.keys()) == [] and list(store.keys()) == [key]

    copied = invoke(app, evidence_group, "move", "--to", "directory")
    assert copied.exit_code == 0 and "(1 copied, 0 there already)" in copied.output
    assert _ciphertext(folder, key) == _ciphertext(store, key)
    settings = app.config["INCIDENTS_SETTINGS"]
    app.config["INCIDENTS_SETTINGS"] = dataclasses.replace(settings, evidence_store="directory")
    try:
        done = invoke(app, evidence_group, "move", "--to", "directory", "--delete-source")
    finally:
        app.config["INCIDENTS_SETTINGS"] = settings
    assert done.exit_code == 0, done.output
    assert list(store.keys()) == [] and list(folder.keys()) == [key]


def _ciphertext(store: DatabaseEvidenceStore | DirectoryEvidenceStore, key: str) -> str:
    with store.open_read(key) as handle:
        return hashlib.sha256(handle.read()).hexdigest()
