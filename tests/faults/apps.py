"""The application of an installation, built in the test process: for building a world
before the subprocesses run and for checking what they left."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from incidents import create_app
from incidents.context import Context
from incidents.extensions import db, evidence_store, key_provider
from incidents.permissions import Operator

CHECKER = Operator("fault-check")


@contextmanager
def operator_context(
    database_url: str, instance: Path, key_file: Path, audit_key_file: Path | None = None
) -> Iterator[Context]:
    """The operator's context on the installation, inside its application context; the
    engine is disposed of afterwards, so no connection outlives the block."""
    app = create_app(
        {
            "env": "testing",
            "database_url": database_url,
            "instance_path": str(instance),
            "master_key_file": str(key_file),
            "audit_signing_key_file": str(audit_key_file or ""),
            "secret_key": secrets.token_urlsafe(48),
        }
    )
    try:
        with app.app_context():
            yield Context.build(
                db.session,
                key_provider(),
                evidence_store(),
                app.config["INCIDENTS_SETTINGS"],
                CHECKER,
            )
    finally:
        with app.app_context():
            db.session.close()
            db.engine.dispose()
