"""A whole installation on disk for tests that run the `incidents` command against it: a
migrated database with a sealed record and a stored evidence file, a key file, an audit
signing key, and the environment that points the command at them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from incidents import migrate
from incidents.audit.signing import generate_signer, write_signing_key
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.extensions import db
from tests import factories, helpers
from tests.conftest import make_test_app


@dataclass
class Installation:
    url: str
    instance: Path
    key_file: Path
    key_id: str
    env: dict[str, str]
    evidence_path: Path


@pytest.fixture
def installation(fresh_database_url: str, tmp_path: Path) -> Iterator[Installation]:
    """A migrated database with a sealed record and an evidence file, its key file and
    audit signing key, and the environment that points the command at them."""
    key = generate_master_key()
    key_file = tmp_path / "master.key"
    write_key_file(key_file, [key], key.key_id)
    signing_key = tmp_path / "audit-signing.key"
    write_signing_key(signing_key, generate_signer("incidents.example/audit-log"))
    instance = tmp_path / "instance"
    app = make_test_app(fresh_database_url, instance, key)
    with app.app_context():
        migrate.upgrade(db.engine)
        session = sessionmaker(db.engine, expire_on_commit=False)()
        factories.bind(helpers.context(session, app))
        try:
            report = factories.ReportFactory()
            evidence = factories.stored_evidence(helpers.evidence_store(app), report)
            factories.IncidentFactory(secrets={"narrative": "kept under the key"})
            session.commit()
        finally:
            factories.unbind()
            session.close()
        db.engine.dispose()
    assert evidence.storage_key is not None
    env = {
        "INCIDENTS_ENV": "development",
        "INCIDENTS_DATABASE_URL": fresh_database_url,
        "INCIDENTS_INSTANCE_PATH": str(instance),
        "INCIDENTS_MASTER_KEY_FILE": str(key_file),
        "INCIDENTS_AUDIT_SIGNING_KEY_FILE": str(signing_key),
        "INCIDENTS_SECRET_KEY": "s" * 40,
    }
    key_path = instance / "evidence" / evidence.storage_key[:2] / evidence.storage_key
    yield Installation(fresh_database_url, instance, key_file, key.key_id, env, key_path)


def command_environment(installation: Installation, **changes: str) -> dict[str, str]:
    """This process's environment without its INCIDENTS_ settings, and the installation's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    return {**env, **installation.env, **changes}
