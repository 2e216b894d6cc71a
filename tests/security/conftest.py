"""Fixtures for security checks 11, 12, 14–24 and 27 (the README's Security model): apps built with
other settings on the test database, logging in, and looking at what changed.

An application built here shares the test's rolled-back transaction, so what it writes
is undone with everything else. The tests of logging in use the real form; the others
start a session as a completed login does (`enter`), since each Argon2 check is slow.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import redis
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.signing import generate_signer, write_signing_key
from incidents.crypto.keys import MasterKey
from incidents.db import Base
from incidents.extensions import db, limiter
from incidents.models import User, UserSession
from tests.conftest import REQUIRE_POSTGRES, make_test_app
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import enter
from tests.web.conftest import World, world

__all__ = ["enter", "world"]  # what the page tests have, shared here

REDIS_URL = os.environ.get("INCIDENTS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_TEST_DB = 15
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HTTPS = "https://localhost"


def database_url(app: Flask) -> str:
    url: str = app.extensions["incidents.db"].engine.url.render_as_string(hide_password=False)
    return url


def reset_limiter_storage() -> None:
    """Give the module-global limiter a fresh in-memory storage again.

    Flask-Limiter keeps one storage per Limiter object, and init_app replaces it: after
    an app built with Redis, every app of this process would count in Redis. A bare app
    configured for memory puts the test default back.
    """
    bare = Flask("limiter-reset")
    bare.config["RATELIMIT_STORAGE_URI"] = "memory://"
    limiter.init_app(bare)


@pytest.fixture
def build_app(
    app: Flask, db_session: Session, tmp_path: Path, master_key: MasterKey
) -> Iterator[Callable[..., Flask]]:
    """Build an application on the test database with setting `overrides`.

    Its sessions join the test's transaction. The limiter's storage is reset afterwards.
    """
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        instance = tmp_path / f"instance-{len(built)}"
        new = make_test_app(database_url(app), instance, master_key, **overrides)
        db.use_session_factory(new, app.extensions["incidents.db"].session_factory)
        built.append(new)
        return new

    yield build
    for new in built:
        with new.app_context():
            db.engine.dispose()
    reset_limiter_storage()


def production_overrides(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """The settings of a well-configured production installation (see test_settings)."""
    signing_key = tmp_path / "audit-signing.key"
    if not signing_key.exists():
        write_signing_key(signing_key, generate_signer("incidents.test/audit-log"))
    return {
        "env": "production",
        "secret_key": secrets.token_urlsafe(48),
        "ratelimit_storage_uri": f"{REDIS_URL}/{REDIS_TEST_DB}",
        "require_two_factor": True,
        "audit_signing_key_file": str(signing_key),
        "audit_log_origin": "incidents.test/audit-log",
        **changes,
    }


@pytest.fixture
def production_app(backend: str, build_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    """The application as production runs it. Production runs on PostgreSQL only (the
    settings refuse SQLite), so tests using this are parametrised to that backend."""
    assert backend == "postgresql", "parametrise with POSTGRES_ONLY"
    require_redis().close()
    return build_app(**production_overrides(tmp_path))


# Use with tests that need the production application.
POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def require_redis() -> redis.Redis:
    """A client of the Redis test database; skip without Redis locally, fail in CI."""
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}", socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        reason = f"Redis at {REDIS_URL} unavailable: {exc}"
        if REQUIRE_POSTGRES:  # CI's switch for "every real service must be there"
            pytest.fail(f"INCIDENTS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return client


def forget_redis_keys(client: redis.Redis, *fragments: str) -> None:
    """Delete the limiter's keys that name one of `fragments` (the test's e-mails and
    addresses, unique to it), and nothing else."""
    for fragment in fragments:
        for key in client.scan_iter(match=f"*{fragment}*"):
            client.delete(key)
    client.close()


def unique_address() -> str:
    """A network address no other test uses: the limiter's storage outlives each test."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def without_csrf(body: str) -> str:
    """A page with the (time-stamped, per-session) CSRF token value taken out."""
    return CSRF_VALUE.sub('name="csrf_token" value=""', body)


def log_in(
    client: FlaskClient,
    email: str,
    password: str = DEFAULT_PASSWORD,
    base_url: str = "http://localhost",
    **kwargs: Any,
) -> Any:
    """POST the login form as a browser would; returns the response."""
    headers = {"Referer": f"{base_url}/login"}
    csrf = token(client, "/login", base_url)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf},
        base_url=base_url,
        headers=headers,
        **kwargs,
    )


@lru_cache(maxsize=1)
def quick_hash() -> str:
    """An Argon2id hash of the test password that takes a millisecond to check.

    For tests that fail many logins: a full-cost check takes a third of a second. The
    application rehashes it at full cost at the first successful login (needs_rehash).
    """
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(DEFAULT_PASSWORD)


def token(client: FlaskClient, path: str, base_url: str = "http://localhost") -> str:
    """The CSRF token of the first form on `path`."""
    page = client.get(path, base_url=base_url).get_data(as_text=True)
    match = CSRF_VALUE.search(page)
    assert match, f"no CSRF token at {path}"
    return match.group(1)


@pytest.fixture
def sign_in(client: FlaskClient, world: World, db_session: Session) -> Callable[[str], User | None]:
    """Like the page tests' as_role (the world's user of `role`), without the form."""

    def sign(role: str) -> User | None:
        if role == "anonymous":
            return None
        enter(client, db_session, world.users[role])
        return world.users[role]

    return sign


def is_logged_in(client: FlaskClient) -> bool:
    """Whether the browser's session still works (the account page needs a login)."""
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].startswith("/login"), response.headers["Location"]
    return False


def open_sessions(session: Session, user: User) -> list[UserSession]:
    session.expire_all()
    return list(
        session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.ended_at.is_(None)
            )
        )
    )


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request changed nothing."""
    session.expire_all()
    rows = {}
    for table in Base.metadata.sorted_tables:
        rows[table.name] = sorted(
            (tuple(map(repr, row)) for row in session.execute(select(table))), key=repr
        )
    return rows
