"""Shared fixtures: one migrated database per backend, a rolled-back session per test.

Every database-backed test runs on SQLite and on PostgreSQL. Without a PostgreSQL
server the PostgreSQL half is skipped locally; with INCIDENTS_REQUIRE_POSTGRES=1 (set
by .ci/run) it fails instead.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from incidents import create_app, migrate
from incidents.context import Context
from incidents.crypto.keys import KeyProvider, MasterKey, generate_master_key
from incidents.extensions import db
from incidents.models.user import User
from incidents.permissions import Operator
from incidents.services import passwords
from incidents.vault import FieldVault
from tests import factories, helpers

POSTGRES_ADMIN_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("INCIDENTS_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]
# Short strings of digits and date punctuation ("1988") turn up by chance in UUID hex,
# timestamps and ciphertext; secret-value searches skip them as no evidence either way.
CHANCE_MATCH = re.compile(r"[0-9a-fA-F.:\- ]{4,9}")


PRODUCTION_HASHER = passwords._hasher
PRODUCTION_DUMMY_HASH = passwords._DUMMY_HASH


def _cheaper_password_hashing() -> None:
    """Argon2id at 8 MiB and one pass in the tests' own processes, instead of 64 MiB and
    three: still Argon2id through the same code, an eighth of the work. Every sign-in
    checks two hashes (the password and the duress one, or a stand-in of the same
    cost), and the suite signs in thousands of times. The commands it starts (and the
    multi-worker servers) keep the real parameters."""
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._unmatchable_hash()


@pytest.fixture
def production_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The application's own Argon2id parameters, for the tests that check them."""
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", PRODUCTION_DUMMY_HASH)


def pytest_configure(config: pytest.Config) -> None:
    """Let the commands the tests start keep their compiled bytecode between starts.

    Some 250 tests start `incidents` (or Python) in a subprocess. Where bytecode writing is
    turned off (PYTHONDONTWRITEBYTECODE), each start compiled the project's 260 modules
    again, a quarter of a second of CPU. The children write it into pytest's cache folder
    instead of the source tree, so a run compiles them once. The tests' own process is
    left as it is.
    """
    _cheaper_password_hashing()
    cache = getattr(config, "cache", None)
    if cache is None:  # pytest -p no:cacheprovider: no folder to keep it in
        return
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache.mkdir("bytecode"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def postgres_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} unavailable: {str(exc).strip()[:200]}"


def skip_without_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"INCIDENTS_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


class PostgresDatabase:
    """A throw-away PostgreSQL database, created and dropped by the tests."""

    def __init__(self, label: str = "test") -> None:
        self.name = f"incidents_{label}_{secrets.token_hex(6)}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')  # name is ours, not input
        admin = make_url(POSTGRES_ADMIN_URL)
        self.url = admin.set(drivername="postgresql+psycopg", database=self.name).render_as_string(
            hide_password=False
        )

    def drop(self) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend named by the test's `backend` parameter."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    skip_without_postgres()
    database = PostgresDatabase("fresh")
    try:
        yield database.url
    finally:
        database.drop()


def master_key_variable(key: MasterKey) -> str:
    return f"{key.key_id}:{base64.b64encode(key.material).decode('ascii')}"


@pytest.fixture(scope="session")
def master_key() -> MasterKey:
    """A master key generated for this test run; no key is ever committed."""
    return generate_master_key()


def make_test_app(database_url: str, instance: Path, key: MasterKey, **overrides: Any) -> Flask:
    settings: dict[str, Any] = {
        "env": "testing",
        "database_url": database_url,
        "instance_path": str(instance),
        "secret_key": secrets.token_urlsafe(48),
        "master_key": master_key_variable(key),
        # Most tests log in with a password only and many times from one address; the
        # two-factor and throttling tests build apps with the production values.
        "require_two_factor": False,
        "login_limit_per_account": "10000 per minute",
        "login_limit_per_address": "10000 per minute",
        # The API tests call many times a minute; the rate-limit test sets its own limit.
        "api_rate_limit": "100000 per minute",
        **overrides,
    }
    return create_app(settings)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def app(
    backend: str, tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey
) -> Iterator[Flask]:
    """An application on a database migrated to head, shared by the tests of one backend."""
    instance = tmp_path_factory.mktemp(f"instance-{backend}")
    postgres = None
    if backend == "sqlite":
        url = f"sqlite:///{instance / 'incidents.db'}"
    else:
        skip_without_postgres()
        postgres = PostgresDatabase()
        url = postgres.url
    application = make_test_app(url, instance, master_key)
    with application.app_context():
        migrate.upgrade(db.engine)
    try:
        yield application
    finally:
        with application.app_context():
            db.engine.dispose()
        if postgres is not None:
            postgres.drop()


@pytest.fixture(scope="module")
def module_connection(app: Flask) -> Iterator[Connection]:
    """One connection inside one outer transaction for every test of a module that asks for
    it (through a module-scoped fixture such as tests/web/conftest.py's `module_world`).

    What module-scoped fixtures write there is seen by each of the module's tests, which run
    in a savepoint of it (db_session), and is rolled back after the last one.
    """
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    try:
        yield connection
    finally:
        outer.rollback()
        connection.close()


@contextmanager
def session_on(app: Flask, connection: Connection) -> Iterator[Session]:
    """A session on `connection`, joined by every session the application makes meanwhile
    (requests, CLI) through savepoints; the factories make their records through it."""
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    original = app.extensions["incidents.db"].session_factory
    db.use_session_factory(app, factory)
    session = factory()
    factories.bind(helpers.context(session, app))
    try:
        yield session
    finally:
        factories.unbind()
        session.close()
        db.use_session_factory(app, original)


@pytest.fixture
def db_session(app: Flask, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session inside one outer transaction that is rolled back after the test.

    Every session the application makes during the test (requests, CLI) joins the same
    transaction through savepoints, so commits in views are undone too. No application
    context stays pushed: each request must get its own `g`, as in production. A test
    that uses `module_connection` runs in a savepoint of the module's transaction instead,
    rolled back the same way, so the module's shared records are as they were for the next.
    """
    if "module_connection" in request.fixturenames:
        connection: Connection = request.getfixturevalue("module_connection")
        undo = connection.begin_nested()
    else:
        with app.app_context():
            connection = db.engine.connect()
        undo = connection.begin()
    try:
        with session_on(app, connection) as session:
            yield session
    finally:
        if undo.is_active:
            undo.rollback()
        if "module_connection" not in request.fixturenames:
            connection.close()


@pytest.fixture
def provider(app: Flask) -> KeyProvider:
    """The master key provider of the test application."""
    keys: KeyProvider = app.extensions["incidents.keys"]
    return keys


@pytest.fixture
def vault(ctx: Context) -> FieldVault:
    return ctx.vault


@pytest.fixture
def ctx(app: Flask, db_session: Session) -> Context:
    """A call context on the test's session, acting as the test operator."""
    return helpers.context(db_session, app)


@pytest.fixture
def context_for(app: Flask, db_session: Session) -> Callable[..., Context]:
    """`context_for(user)`: a call context on the test's session acting as `user` (or as
    nobody, for None), with single settings replaced by keyword."""

    def build(principal: User | Operator | None, **settings: Any) -> Context:
        return helpers.context(db_session, app, principal, **settings)

    return build


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[User], User]:
    """Log `user` in on `client` through the real login form."""

    def log_in(user: User) -> User:
        response = client.post(
            "/login",
            data={
                "email": user.email,
                "password": factories.DEFAULT_PASSWORD,
                "csrf_token": csrf_token(client, "/login"),
            },
        )
        assert response.status_code == 302, f"login of {user.email} failed: {response.status_code}"
        return user

    return log_in


_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the first form on `path`."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF_FIELD.search(page)
    assert match, f"no CSRF token in the form at {path}"
    return match.group(1)
