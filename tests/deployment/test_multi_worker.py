"""Several workers sharing nothing but PostgreSQL and Redis, as production runs: gunicorn
with config/gunicorn.conf.py and 3 workers, on a fresh database migrated by
`incidents db upgrade`, reached as nginx forwards requests.

Researchers log in through the real forms (CSRF token, password, TOTP code) and write
and read at once for a bounded time; afterwards every write that was answered "saved"
is in the database and nothing else is, and `incidents audit verify` passes. Failed
logins spread over the workers trip the limit at the same count as on one worker, and a
session ended by logging out or by an administrator is refused by every worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from incidents.audit.signing import generate_signer, write_signing_key
from incidents.crypto.keys import MasterKey, generate_master_key, write_key_file
from incidents.db import utcnow
from incidents.extensions import db
from incidents.models import Incident, User
from incidents.models.vocabularies import Role
from incidents.services import two_factor
from tests import factories, helpers
from tests.conftest import PostgresDatabase, make_test_app, skip_without_postgres
from tests.deployment.server import (
    REPOSITORY,
    Browser,
    Server,
    gunicorn,
    production_environment,
)
from tests.factories import DEFAULT_PASSWORD
from tests.security.conftest import (
    REDIS_TEST_DB,
    REDIS_URL,
    forget_redis_keys,
    quick_hash,
    require_redis,
    unique_address,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 3
RESEARCHERS = 4
LOAD_SECONDS = 10
PER_ACCOUNT = 6  # failed logins allowed per account in this installation
REFERENCE = re.compile(r"^/incidents/([^/]+)$")


@dataclass
class Person:
    email: str
    secret: str  # the TOTP secret of their authenticator
    user_id: str = ""

    def code(self) -> str:
        return pyotp.TOTP(self.secret).now()


@dataclass
class Deployment:
    server: Server
    env: dict[str, str]
    database_url: str
    team_id: str
    researchers: list[Person]
    others: dict[str, Person]  # by what the test does with them
    addresses: list[str]  # every browser's: the limiter's keys to forget afterwards

    def browser(self, cookies: dict[str, str] | None = None) -> Browser:
        address = unique_address()
        self.addresses.append(address)
        return Browser(self.server.port, address, dict(cookies or {}))

    def incidents(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return incidents(self.env, *arguments)


def incidents(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """The `incidents` command, as the operator runs it on an app server."""
    return subprocess.run(
        [sys.executable, "-c", "from incidents.cli import main; main()", *arguments],
        env=env,
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _seed(url: str, folder: Path, key: MasterKey, prefix: str) -> tuple[str, dict[str, Person]]:
    """A team and its researchers, each with a second factor enrolled a while ago."""
    app = make_test_app(url, folder / "seeding", key)
    people: dict[str, Person] = {}
    with app.app_context():
        session = sessionmaker(db.engine, expire_on_commit=False)()
        factories.bind(helpers.context(session, app))
        try:
            team = factories.TeamFactory()
            names = [f"researcher{n}" for n in range(RESEARCHERS)] + ["leaver", "disabled"]
            for name in [*names, "admin"]:
                user = factories.UserFactory(
                    email=f"{prefix}-{name}@example.org",
                    role=Role.ADMIN if name == "admin" else Role.RESEARCHER,
                    teams=[] if name == "admin" else [team],
                )
                session.flush()
                people[name] = Person(user.email, _enrol(session, app, user), str(user.id))
            sprayed = factories.UserFactory(
                email=f"{prefix}-sprayed@example.org", teams=[team], password_hash=quick_hash()
            )
            people["sprayed"] = Person(sprayed.email, "")
            session.commit()
            team_id = str(team.id)
        finally:
            factories.unbind()
            session.close()
        db.engine.dispose()
    return team_id, people


def _enrol(session: Session, app: Flask, user: User) -> str:
    secret = two_factor.new_secret()
    earlier = utcnow() - timedelta(minutes=5)  # today's codes are then new to the server
    ctx = helpers.context(session, app, user)
    two_factor.enable(ctx, secret, pyotp.TOTP(secret).at(earlier), now=earlier)
    return secret


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    skip_without_postgres()
    require_redis().close()
    folder = tmp_path_factory.mktemp("deployment")
    database = PostgresDatabase("deploy")
    key = generate_master_key()
    write_key_file(folder / "master.key", [key], key.key_id)
    write_signing_key(folder / "audit.key", generate_signer("deploy.test/audit-log"))
    env = production_environment(
        INCIDENTS_ENV="production",
        INCIDENTS_DATABASE_URL=database.url,
        INCIDENTS_INSTANCE_PATH=str(folder / "instance"),
        INCIDENTS_MASTER_KEY_FILE=str(folder / "master.key"),
        INCIDENTS_AUDIT_SIGNING_KEY_FILE=str(folder / "audit.key"),
        INCIDENTS_AUDIT_LOG_ORIGIN="deploy.test/audit-log",
        INCIDENTS_SECRET_KEY=secrets.token_urlsafe(48),
        INCIDENTS_RATELIMIT_STORAGE_URI=f"{REDIS_URL}/{REDIS_TEST_DB}",
        INCIDENTS_LOGIN_LIMIT_PER_ACCOUNT=f"{PER_ACCOUNT} per 15 minutes",
        INCIDENTS_TRUSTED_PROXIES="1",
        INCIDENTS_EVIDENCE_STORE="database",
    )
    prefix = f"deploy-{uuid.uuid4().hex[:10]}"
    emails: list[str] = []
    addresses: list[str] = []
    try:
        upgraded = incidents(env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        team_id, people = _seed(database.url, folder, key, prefix)
        emails = [person.email for person in people.values()]
        with gunicorn(env, folder, WORKERS) as server:
            researchers = [people.pop(f"researcher{n}") for n in range(RESEARCHERS)]
            yield Deployment(server, env, database.url, team_id, researchers, people, addresses)
    finally:
        # The limiter's keys name the address, and the e-mail only by its hash.
        hashed = [hashlib.sha256(email.encode()).hexdigest() for email in emails]
        forget_redis_keys(require_redis(), *addresses, *hashed)
        database.drop()


def log_in(deployment: Deployment, person: Person, browser: Browser | None = None) -> Browser:
    """Log in through the forms, as a person does: e-mail and password, then the code."""
    browser = browser or deployment.browser()
    answer = browser.form("/login", {"email": person.email, "password": DEFAULT_PASSWORD})
    assert (answer.status, answer.location) == (302, "/login/verify"), answer.status
    answer = browser.form("/login/verify", {"code": person.code()})
    assert answer.status == 302 and not answer.location.startswith("/login"), answer.status
    assert browser.get("/account").status == 200
    return browser


@dataclass
class Tally:
    saved: set[str] = dataclasses.field(default_factory=set)  # references answered "saved"
    refused: list[int] = dataclasses.field(default_factory=list)  # statuses of failed writes
    reads: list[int] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def _work(deployment: Deployment, person: Person, until: float, tally: Tally) -> None:
    """Write an incident, read the list and what was written, until `until`."""
    browser = log_in(deployment, person)
    mine: list[str] = []
    while time.monotonic() < until:
        title = f"Detention seen by {person.email} #{len(mine) + 1}"
        answer = browser.form(
            "/incidents/new",
            {
                "title": title,
                "narrative": "Typed by a researcher while others typed too.",
                "country": "RU",
                "start_date": "2017-02",
                "status": "reported",
                "team": deployment.team_id,
            },
        )
        saved = REFERENCE.match(answer.location) if answer.status == 302 else None
        reads = [browser.get("/incidents").status]
        if saved:
            mine.append(saved.group(1))
            reads.append(browser.get(f"/incidents/{saved.group(1)}").status)
        with tally.lock:
            if saved:
                tally.saved.add(saved.group(1))
            else:
                tally.refused.append(answer.status)
            tally.reads.extend(reads)


def test_concurrent_writes_answered_saved_are_stored_and_nothing_else(
    deployment: Deployment,
) -> None:
    tally = Tally()
    until = time.monotonic() + LOAD_SECONDS
    with ThreadPoolExecutor(RESEARCHERS) as pool:
        running = [
            pool.submit(_work, deployment, person, until, tally)
            for person in deployment.researchers
        ]
        for future in running:
            future.result()
    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.scalars(select(Incident.reference)))
    finally:
        engine.dispose()
    assert len(tally.saved) >= RESEARCHERS, tally  # every researcher saved something
    assert stored == tally.saved, (len(stored), len(tally.saved), tally.refused)
    assert set(tally.reads) == {200}, tally.reads
    print(
        f"{len(tally.saved)} incidents saved and {len(tally.reads)} pages read in "
        f"{LOAD_SECONDS} s by {RESEARCHERS} researchers; {len(tally.refused)} refused",
        file=sys.stderr,
    )
    verified = deployment.incidents("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_failed_logins_spread_over_the_workers_are_counted_together(
    deployment: Deployment,
) -> None:
    person = deployment.others["sprayed"]
    attempts = [deployment.browser() for _ in range(PER_ACCOUNT)]

    def fail(browser: Browser) -> int:
        answer = browser.form("/login", {"email": person.email, "password": "not it at all"})
        return answer.status

    with ThreadPoolExecutor(WORKERS) as pool:  # at once, so that every worker takes some
        statuses = list(pool.map(fail, attempts))
    assert statuses == [401] * PER_ACCOUNT
    answered_by = {pid for b in attempts for pid in deployment.server.pids_that_answered(b.address)}
    assert len(answered_by) >= 2, "the attempts all reached one worker"
    right = deployment.browser().form(
        "/login", {"email": person.email, "password": DEFAULT_PASSWORD}
    )
    assert right.status == 429  # the same count as on one worker, the right password or not


def _refused_everywhere(deployment: Deployment, cookies: dict[str, str]) -> set[int]:
    """Send the ended session's cookie on many connections; the workers that refused it."""
    browsers = [deployment.browser(cookies) for _ in range(12)]
    with ThreadPoolExecutor(WORKERS) as pool:
        answers = list(pool.map(lambda b: b.get("/account"), browsers))
    for answer in answers:
        assert answer.status == 302 and answer.location == "/login", answer.status
    return {pid for b in browsers for pid in deployment.server.pids_that_answered(b.address)}


def test_a_session_ended_by_logging_out_is_refused_by_every_worker(
    deployment: Deployment,
) -> None:
    browser = log_in(deployment, deployment.others["leaver"])
    kept = dict(browser.cookies)  # what a stolen cookie would be
    answer = browser.form("/logout", {}, page="/account")
    assert (answer.status, answer.location) == (302, "/login")
    assert len(_refused_everywhere(deployment, kept)) == WORKERS


def test_a_session_of_a_disabled_account_is_refused_by_every_worker(
    deployment: Deployment,
) -> None:
    person = deployment.others["disabled"]
    browser = log_in(deployment, person)
    admin = log_in(deployment, deployment.others["admin"])
    page = f"/admin/users/{person.user_id}"
    disabled = admin.form(f"{page}/disable", {}, page=page)
    assert (disabled.status, disabled.location) == (302, page)
    assert len(_refused_everywhere(deployment, browser.cookies)) == WORKERS


def test_the_access_log_names_no_query_string_and_no_feed_token(
    deployment: Deployment,
) -> None:
    browser = deployment.browser()
    browser.get("/login?next=/people%3Fq%3Dsearched-name")
    browser.get("/calendar/a-secret-feed-token.ics")
    time.sleep(0.2)
    log = deployment.server.access_log.read_text()
    lines = [line for line in log.splitlines() if line.startswith(f"{browser.address} ")]
    assert len(lines) == 2, lines
    assert "searched-name" not in log and "a-secret-feed-token" not in log
    assert '"GET /login HTTP/1.1"' in lines[0] and '"GET /calendar/… HTTP/1.1"' in lines[1]
