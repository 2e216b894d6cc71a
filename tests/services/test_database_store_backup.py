"""A backup of an installation that keeps its evidence in PostgreSQL holds each file once —
as an evidence member, not as rows of the store's tables too — and restores into another
such installation, where the same ciphertext comes back and decrypts."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from incidents import migrate
from incidents.cli.backup import restore_command
from incidents.crypto.keys import MasterKey
from incidents.extensions import audit_signer, db
from incidents.models import Evidence
from incidents.models.evidence_blob import STORE_TABLES
from incidents.services.backup.archive import DecryptingReader
from incidents.services.backup.create import BackupSources, write_backup
from incidents.services.backup.manifest import EVIDENCE_PREFIX, TABLE_PREFIX
from incidents.services.evidence import download
from incidents.storage.database_store import DatabaseEvidenceStore
from tests import factories, helpers, samples
from tests.conftest import PostgresDatabase, make_test_app, skip_without_postgres

pytestmark = pytest.mark.postgres
CONTENT = samples.png(padding=2 * 1024 * 1024) + b"kept in the database"


@dataclass
class Installed:
    app: Flask
    database: PostgresDatabase

    @property
    def store(self) -> DatabaseEvidenceStore:
        found = self.app.extensions["incidents.evidence_store"]
        assert isinstance(found, DatabaseEvidenceStore)
        return found


@pytest.fixture
def installations(tmp_path: Path, master_key: MasterKey) -> Iterator[list[Installed]]:
    """Two installations with the database store: a source with evidence, an empty
    target; one instance folder, so that they share the audit signing key."""
    skip_without_postgres()
    made: list[Installed] = []
    try:
        for label in ("source", "target"):
            database = PostgresDatabase(label)
            made.append(
                Installed(
                    make_test_app(
                        database.url, tmp_path / "instance", master_key, evidence_store="database"
                    ),
                    database,
                )
            )
        yield made
    finally:
        for installed in made:
            with installed.app.app_context():
                db.engine.dispose()
            installed.database.drop()


def _fill(source: Installed) -> str:
    """A report with one evidence file, committed; its storage key."""
    with source.app.app_context():
        migrate.upgrade(db.engine)
        session = sessionmaker(db.engine, expire_on_commit=False)()
        factories.bind(helpers.context(session, source.app))
        try:
            evidence = factories.stored_evidence(
                source.store, factories.ReportFactory(), content=CONTENT
            )
            session.commit()
        finally:
            factories.unbind()
            session.close()
    assert evidence.storage_key is not None
    return evidence.storage_key


def _members(archive: bytes, source: Installed) -> list[str]:
    keys = source.app.extensions["incidents.keys"]
    reader = DecryptingReader(io.BytesIO(archive), keys, "the archive")
    with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
        return [member.name for member in tar]


def _ciphertext(store: DatabaseEvidenceStore, key: str) -> str:
    with store.open_read(key) as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_a_backup_holds_each_file_once_and_restores_into_the_database(
    installations: list[Installed], tmp_path: Path
) -> None:
    source, target = installations
    key = _fill(source)
    archive = io.BytesIO()
    with source.app.app_context():
        sources = BackupSources(
            db.engine,
            source.store,
            source.app.extensions["incidents.keys"],
            audit_signer(),
            source.app.config["INCIDENTS_SETTINGS"].audit_log_origin,
            tmp_path,
        )
        manifest = write_backup(sources, archive, lambda _total: nullcontext(None))
    assert list(manifest.evidence) == [key]
    assert not STORE_TABLES & set(manifest.tables)
    members = _members(archive.getvalue(), source)
    assert members.count(f"{EVIDENCE_PREFIX}{key}") == 1
    assert not [m for m in members if any(f"{TABLE_PREFIX}{t}/" in m for t in STORE_TABLES)]
    assert manifest.evidence[key]["sha256"] == _ciphertext(source.store, key)

    path = tmp_path / "source.bak"
    path.write_bytes(archive.getvalue())
    result = helpers.invoke(target.app, restore_command, str(path))
    assert result.exit_code == 0, (result.output, result.exception)
    assert list(target.store.keys()) == [key]
    assert _ciphertext(target.store, key) == _ciphertext(source.store, key)
    with target.app.app_context():
        session = sessionmaker(db.engine)()
        try:
            ctx = helpers.context(session, target.app)
            evidence_id = session.scalars(select(Evidence.id)).one()
            _details, content = download.open_evidence(ctx, evidence_id)
            with content:
                assert b"".join(content) == CONTENT
            session.rollback()
        finally:
            session.close()
