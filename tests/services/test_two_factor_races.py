"""Security check 23 under concurrency: a TOTP code or a recovery code sent by two requests at
the same moment is accepted once. Each request has its own connection, as in the
application; the second one is checked while the first has not committed yet."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.crypto.keys import MasterKey
from incidents.db import utcnow
from incidents.extensions import db
from incidents.models import User
from incidents.models.vocabularies import Role
from incidents.services import accounts, two_factor
from tests.conftest import BACKENDS, make_test_app
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import context

# Long enough for the second request to reach the database while the first holds its row.
HOLD_SECONDS = 0.5


@pytest.fixture
def racing_app(fresh_database_url: str, tmp_path: Path, master_key: MasterKey) -> Iterator[Flask]:
    app = make_test_app(fresh_database_url, tmp_path / "instance", master_key)
    with app.app_context():
        migrate.upgrade(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def _enrolled_user(app: Flask) -> tuple[uuid.UUID, str, list[str], int]:
    with app.app_context():
        session = db.session
        operator = context(session, app)
        user = accounts.create_user(
            operator, "racer@example.org", "Racer", DEFAULT_PASSWORD, [Role.RESEARCHER]
        )
        secret = two_factor.new_secret()
        now = utcnow()
        codes = two_factor.enable(
            operator.acting_as(user), secret, pyotp.TOTP(secret).at(now), now=now
        )
        session.commit()
        return user.id, secret, codes, pyotp.TOTP(secret).timecode(now)


def _race(app: Flask, user_id: uuid.UUID, code: str) -> list[bool]:
    """Two requests check `code`; the first holds its transaction open for a moment."""
    # On PostgreSQL both requests read the user before either writes. On SQLite every
    # transaction begins IMMEDIATE, so the second one waits at its start for the first
    # to commit: that lock is SQLite's protection, and the test shows it holds.
    with app.app_context():
        serialised = db.engine.dialect.name == "sqlite"
    both_loaded = threading.Barrier(1 if serialised else 2)
    first_checked = threading.Event()
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def request(name: str) -> None:
        try:
            if serialised and name == "second":
                first_checked.wait(timeout=10)
            with app.app_context(), Session(db.engine) as session:
                user = session.get(User, user_id)
                assert user is not None
                if not serialised:
                    both_loaded.wait(timeout=10)
                if name == "second":
                    first_checked.wait(timeout=10)
                logging_in = context(session, app, None)  # nobody acts until the code passes
                results[name] = two_factor.verify_code(logging_in, user, code) is not None
                if name == "first":
                    first_checked.set()
                    time.sleep(HOLD_SECONDS)
                session.commit()
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)
            first_checked.set()

    threads = [threading.Thread(target=request, args=(n,)) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return [results["first"], results["second"]]


@pytest.mark.parametrize("fresh_database_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("kind", ["totp", "recovery code"])
def test_23_a_code_sent_twice_at_once_is_accepted_once(racing_app: Flask, kind: str) -> None:
    user_id, secret, codes, enrolled_step = _enrolled_user(racing_app)
    totp = pyotp.TOTP(secret)
    # The next step's code: valid now (clock window) and not the enrolment's.
    code = totp.generate_otp(enrolled_step + 1) if kind == "totp" else codes[0]
    assert _race(racing_app, user_id, code) == [True, False]
