"""A download from the export page, on an SQLite file as the demo runs it: while the body
streams, others can still save (the stream's reading transaction takes no write lock),
and once it has been read the session it used is given back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask_login import login_user

from incidents import migrate
from incidents.crypto.keys import generate_master_key
from incidents.extensions import db
from incidents.models.vocabularies import Role
from incidents.permissions import Operator
from incidents.redaction import Profile
from incidents.services import accounts
from incidents.web.boundary import context
from incidents.web.exports import views
from tests import factories, helpers
from tests.conftest import make_test_app


def test_others_can_save_while_an_export_streams(tmp_path: Path) -> None:
    database = tmp_path / "incidents.db"
    app = make_test_app(f"sqlite:///{database}", tmp_path / "instance", generate_master_key())
    with app.app_context():
        migrate.upgrade(db.engine)
        operator = helpers.context(db.session, app, Operator("test"))
        team = accounts.create_team(operator, "north", "North")
        auditor = accounts.create_user(
            operator, "a@example.org", "A", factories.DEFAULT_PASSWORD, [Role.AUDITOR], [team]
        )
        db.session.commit()
        auditor_id = auditor.id
    with app.test_request_context("/export", method="POST"):
        login_user(db.session.get(type(auditor), auditor_id))
        response = views._download(Profile.INTERNAL, "json")
        context().session.commit()  # as the unit of work does once the view has answered
        chunks = iter(response.response)
        first = next(chunks)
        other = sqlite3.connect(database, timeout=0.5)
        try:
            other.execute("BEGIN IMMEDIATE")  # a writer, while the download is half read
            other.execute("ROLLBACK")
        finally:
            other.close()
        body = first + b"".join(chunks)
        assert b'"format": "incidents-records/1"' in body
        assert not db.session.in_transaction()  # given back after the last byte
        db.engine.dispose()
