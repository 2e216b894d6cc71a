"""SQLite under concurrency, on a file database behind a real threaded server: a burst of
logins and page loads gets no 500; readers are not held up by a writer; a page that must
write waits its turn instead of failing; Argon2 runs without the write lock; a lock not
had in time is a 503 "try again", on a page and in the API."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import requests
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import event
from werkzeug.serving import make_server

from incidents import migrate
from incidents.audit.actions import AuditAction
from incidents.cli import cli
from incidents.crypto.keys import MasterKey
from incidents.extensions import db
from incidents.models.vocabularies import Role
from incidents.services import accounts, api_tokens, passwords, people
from tests import helpers
from tests.conftest import make_test_app

PASSWORD = "plum-orbit-cascade-4471"  # made up for these tests
NEW_PASSWORD = "quartz-meadow-lantern-8812"
USERS = 6
LOGINS = 30
# Argon2id as in production but lighter, so thirty logins take seconds on a shared
# runner; the hash still costs far more than a transaction does.
LIGHT_TIME_COST, LIGHT_MEMORY_KIB = 2, 16384
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 60


def _light_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=LIGHT_TIME_COST, memory_cost=LIGHT_MEMORY_KIB, parallelism=1)


@dataclass
class Live:
    url: str
    app: Flask
    database: Path
    emails: list[str]
    person: str  # the reference of a person whose page decrypts (and audits)
    api_token: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[Live]:
    instance = tmp_path_factory.mktemp("concurrency")
    database = instance / "busy.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", _light_hasher())
        app = make_test_app(f"sqlite:///{database}", instance, master_key)
        app.config["PROPAGATE_EXCEPTIONS"] = False  # errors answered as in production
        with app.app_context():
            migrate.upgrade(db.engine)
            operator = helpers.context(db.session, app)
            team = accounts.create_team(operator, "busy", "Busy team")
            users = [
                accounts.create_user(
                    operator,
                    f"r{n}@example.org",
                    f"Researcher {n}",
                    PASSWORD,
                    [Role.RESEARCHER],
                    [team],
                )
                for n in range(USERS + 1)  # the last one changes its password
            ]
            researcher = helpers.context(db.session, app, users[0])
            person = people.create_person(researcher, team.id, {"full_name": "Movsar Demoev"})
            token, _ = api_tokens.create(researcher, users[0], "busy", ["cases:read"])
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Live(
                f"http://127.0.0.1:{server.server_port}",
                app,
                database,
                [u.email for u in users],
                person.reference,
                token,
            )
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()


def _log_in(live: Live, email: str, password: str = PASSWORD) -> tuple[requests.Session, list[int]]:
    """A browser that has asked for the login page and sent it; the statuses it got."""
    browser = requests.Session()
    page = browser.get(f"{live.url}/login", timeout=TIMEOUT)
    statuses = [page.status_code]
    found = TOKEN.search(page.text)
    if found is not None:
        sent = browser.post(
            f"{live.url}/login",
            data={"csrf_token": found.group(1), "email": email, "password": password},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        statuses.append(sent.status_code)
    return browser, statuses


def _login_successes(live: Live) -> int:
    with live.app.app_context():
        count = helpers.count_events(db.session, AuditAction.LOGIN_SUCCESS)
        db.session.close()
    return count


def _decryptions_of_the_person(live: Live) -> int:
    with live.app.app_context():
        events = helpers.events(db.session, "secret.decrypt")
        db.session.close()
    return sum(1 for e in events if e.target_ref == live.person)


@contextmanager
def _write_lock_held(database: Path) -> Iterator[None]:
    """Another connection (as another process would) holds SQLite's write lock."""
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


def _write_lock_free(database: Path) -> bool:
    probe = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.mark.slow
def test_a_burst_of_logins_and_page_loads_gets_no_server_error(live: Live) -> None:
    readers = [_log_in(live, email)[0] for email in live.emails[:USERS]]
    before = _login_successes(live)

    def load_pages(browser: requests.Session) -> list[requests.Response]:
        paths = (f"/people/{live.person}", "/people", "/incidents", "/")
        return [browser.get(live.url + p, allow_redirects=False, timeout=TIMEOUT) for p in paths]

    with ThreadPoolExecutor(max_workers=2 * LOGINS) as pool:
        logins = [pool.submit(_log_in, live, live.emails[n % USERS]) for n in range(LOGINS)]
        loads = [pool.submit(load_pages, readers[n % USERS]) for n in range(LOGINS)]
        login_statuses = [status for f in logins for status in f.result()[1]]
        pages = [answer for f in loads for answer in f.result()]

    statuses = Counter(login_statuses + [page.status_code for page in pages])
    assert set(statuses) <= {200, 302, 503}, statuses
    for page in pages:
        if page.status_code == 503:  # a moment of crowding: said so, with when to retry
            assert "try again" in page.text and page.headers["Retry-After"]
    logged_in = Counter(login_statuses)[302]
    print(f"{LOGINS} logins: {logged_in} logged in, {statuses[503]} answers 503 in all")
    assert logged_in >= LOGINS * 0.9
    assert _login_successes(live) - before == logged_in  # every login is in the audit log
    with live.app.app_context():
        verified = helpers.invoke(live.app, cli, "audit", "verify")
    assert verified.exit_code == 0, verified.output


class _ProbingHasher(PasswordHasher):
    """Argon2 that notes, each time it runs, whether SQLite's write lock is free."""

    def __init__(self, database: Path) -> None:
        super().__init__(time_cost=LIGHT_TIME_COST, memory_cost=LIGHT_MEMORY_KIB, parallelism=1)
        self.database = database
        self.lock_free: list[bool] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.lock_free.append(_write_lock_free(self.database))
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.lock_free.append(_write_lock_free(self.database))
        return super().hash(password, salt=salt)


def test_argon2_runs_without_the_write_lock(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logging in, and changing one's password inside its form's savepoint: each hash is
    made while any other connection could write, and the change is saved whole."""
    probing = _ProbingHasher(live.database)
    monkeypatch.setattr(passwords, "_hasher", probing)
    email = live.emails[USERS]
    browser, statuses = _log_in(live, email)
    assert statuses == [200, 302]
    form = browser.get(f"{live.url}/account/password", timeout=TIMEOUT)
    changed = browser.post(
        f"{live.url}/account/password",
        data={
            "csrf_token": TOKEN.search(form.text).group(1),  # type: ignore[union-attr]
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert changed.status_code == 302, changed.text
    # The login checks two hashes (the password and the duress one, or a stand-in, so
    # that its time tells nothing), then the current password and the new one's hash.
    assert probing.lock_free == [True, True, True, True]
    assert _log_in(live, email, NEW_PASSWORD)[1] == [200, 302]
    assert _log_in(live, email, PASSWORD)[1] == [200, 401]


def test_pages_are_read_while_another_connection_writes(live: Live) -> None:
    """A page that only reads answers at once; one that audits a decryption waits for
    the writer, then answers, its decryption recorded once."""
    browser, _ = _log_in(live, live.emails[0])
    before = _decryptions_of_the_person(live)
    answers: list[requests.Response] = []
    with _write_lock_held(live.database):
        started = time.monotonic()
        listing = browser.get(f"{live.url}/account", timeout=TIMEOUT)
        assert listing.status_code == 200
        assert time.monotonic() - started < 2  # not a wait for the lock (5 s)
        opening = threading.Thread(
            target=lambda: answers.append(
                browser.get(f"{live.url}/people/{live.person}", timeout=TIMEOUT)
            )
        )
        opening.start()
        time.sleep(0.5)
        assert not answers  # it waits for the write lock to record what it decrypted
    opening.join(timeout=TIMEOUT)
    assert [a.status_code for a in answers] == [200]
    assert _decryptions_of_the_person(live) - before == 1


@pytest.fixture
def short_busy_timeout(live: Live) -> Iterator[None]:
    """The application's connections wait 0.2 s for the lock instead of 5 s."""

    def wait_briefly(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 200")

    with live.app.app_context():
        engine = db.engine
    event.listen(engine, "connect", wait_briefly)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", wait_briefly)
        engine.dispose()


def test_a_lock_not_had_in_time_is_a_503_try_again(live: Live, short_busy_timeout: None) -> None:
    browser, _ = _log_in(live, live.emails[1])
    form = TOKEN.search(browser.get(f"{live.url}/account", timeout=TIMEOUT).text)
    assert form is not None  # the logout button's form
    before = _decryptions_of_the_person(live)
    with _write_lock_held(live.database):
        page = browser.get(f"{live.url}/people/{live.person}", timeout=TIMEOUT)
        sent = browser.post(
            f"{live.url}/logout",
            data={"csrf_token": form.group(1)},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        called = requests.get(
            f"{live.url}/api/v1/people/{live.person}",
            headers={"Authorization": f"Bearer {live.api_token}"},
            timeout=TIMEOUT,
        )
    assert page.status_code == 503
    assert "try again" in page.text and "Movsar" not in page.text
    assert page.headers["Retry-After"] == "5"
    assert sent.status_code == 503 and "try again" in sent.text
    assert called.status_code == 503
    assert called.headers["Content-Type"] == "application/problem+json"
    assert called.json()["status"] == 503 and called.headers["Retry-After"] == "5"
    assert _decryptions_of_the_person(live) == before  # nothing shown, nothing recorded
