"""Security check 27 for the login pages: a hostile `next` never produces a 500 nor leaves the
site, and audited writes arriving at once on SQLite wait their turn instead of failing."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient

from incidents import migrate
from incidents.crypto.keys import MasterKey
from incidents.extensions import db
from incidents.services import accounts
from tests import helpers
from tests.conftest import make_test_app
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.conftest import log_in, quick_hash
from tests.web.conftest import World

HOSTILE_NEXT = [
    "/\r\nSet-Cookie: stolen=1",
    "/\t/evil.example.org",
    "/incidents\u2028",
    "//evil.example.org/",
    "/\\evil.example.org",
    "https://evil.example.org/",
    " /incidents",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_27_a_hostile_next_after_login_goes_home(
    client: FlaskClient, world: World, target: str
) -> None:
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    response = log_in(client, user.email, query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/", location
    assert "Set-Cookie: stolen" not in str(response.headers)


def test_27_a_percent_encoded_next_stays_a_path_on_this_site(
    client: FlaskClient, world: World
) -> None:
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    target = "/%0D%0ASet-Cookie:%20stolen=1"  # the characters, not a line break
    response = log_in(client, user.email, query_string={"next": target})
    assert response.headers["Location"] == target
    assert "stolen" not in response.headers.get("Set-Cookie", "")


def test_27_a_plain_next_is_followed(client: FlaskClient, world: World) -> None:
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    response = log_in(client, user.email, query_string={"next": "/people?q=Ахмед"})
    # Werkzeug writes the Location header as a URI: the name percent-encoded.
    assert unquote(response.headers["Location"]) == "/people?q=Ахмед"


def test_27_failed_logins_at_once_on_sqlite_are_each_answered(
    tmp_path: Path, master_key: MasterKey
) -> None:
    """Every failed login writes an audit event; on SQLite, writers that arrive together
    queue for the one write lock (BEGIN IMMEDIATE) rather than fail with 'locked'."""
    app = make_test_app(f"sqlite:///{tmp_path / 'busy.db'}", tmp_path / "instance", master_key)
    try:
        with app.app_context():
            migrate.upgrade(db.engine)
            accounts.create_user(
                helpers.context(db.session, app), "busy@example.org", "Busy", DEFAULT_PASSWORD
            )
            db.session.commit()
        statuses: list[int] = []
        lock = threading.Lock()

        def attempt() -> None:
            status = log_in(app.test_client(), "busy@example.org", "wrong password!").status_code
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses == [401] * 8
    finally:
        with app.app_context():
            db.engine.dispose()
