"""Security check 21, when the counts cannot be kept: in production the limiter's store
(Redis) being unreachable refuses every attempt to sign in, check a password or use an
API token (503, a log line, never a 500), instead of letting each worker count alone;
pages of people already signed in keep working. Development, when pointed at a Redis,
fails alike (its default store is memory://).

The unreachable store is a real closed port: a socket bound to it and never listening.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import UserSession
from incidents.services import two_factor
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import events
from tests.security.conftest import (
    HTTPS,
    POSTGRES_ONLY,
    REDIS_TEST_DB,
    enter,
    forget_redis_keys,
    log_in,
    production_overrides,
    quick_hash,
    require_redis,
    token,
    unique_address,
)
from tests.web.conftest import World

SIGN_IN_UNAVAILABLE = "Sign-in is unavailable: the rate-limit store cannot be reached."


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound by this test and never listening: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def unreachable_store(build_app: Callable[..., Flask], tmp_path: Path, closed_port: int) -> Flask:
    """The production application with its Redis on a closed port."""
    store = f"redis://127.0.0.1:{closed_port}/{REDIS_TEST_DB}"
    return build_app(**production_overrides(tmp_path, ratelimit_storage_uri=store))


def _browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = unique_address()
    return client


@POSTGRES_ONLY
def test_21_production_refuses_sign_in_while_the_store_is_unreachable(
    unreachable_store: Flask,
    world: World,
    db_session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    db_session.flush()
    sessions_before = db_session.query(UserSession).filter_by(user_id=user.id).count()
    client = _browser(unreachable_store)
    assert client.get("/login", base_url=HTTPS).status_code == 200  # the form is shown
    with caplog.at_level(logging.ERROR, logger="incidents.web.throttling"):
        response = log_in(client, user.email, DEFAULT_PASSWORD, base_url=HTTPS)
    assert response.status_code == 503
    assert SIGN_IN_UNAVAILABLE in response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
    assert any("rate-limit store unreachable" in r.getMessage() for r in caplog.records)
    # The right password did not let anyone in, and nothing was recorded of the attempt.
    assert db_session.query(UserSession).filter_by(user_id=user.id).count() == sessions_before
    assert not events(db_session, action="login.success", target=user)


@POSTGRES_ONLY
def test_21_signed_in_pages_keep_working_but_a_password_check_is_refused(
    unreachable_store: Flask,
    world: World,
    db_session: Session,
    context_for: Callable[..., Context],
) -> None:
    user = UserFactory(teams=[world.team])
    secret = two_factor.new_secret()
    two_factor.enable(context_for(user), secret, pyotp.TOTP(secret).now())
    db_session.flush()
    client = enter(_browser(unreachable_store), db_session, user)
    assert client.get("/account", base_url=HTTPS).status_code == 200
    assert client.get("/incidents", base_url=HTTPS).status_code == 200
    response = client.post(
        "/reauthenticate",
        data={
            "password": DEFAULT_PASSWORD,
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": token(client, "/reauthenticate", HTTPS),
        },
        base_url=HTTPS,
        headers={"Referer": f"{HTTPS}/reauthenticate"},
    )
    assert response.status_code == 503
    assert SIGN_IN_UNAVAILABLE in response.get_data(as_text=True)
    changed = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "a fresh long passphrase 42",
            "confirm_password": "a fresh long passphrase 42",
            "csrf_token": token(client, "/account/password", HTTPS),
        },
        base_url=HTTPS,
        headers={"Referer": f"{HTTPS}/account/password"},
    )
    assert changed.status_code == 503  # checks the current password: counted, so refused
    # Still signed in: only the attempts that needed counting were refused.
    assert client.get("/account", base_url=HTTPS).status_code == 200


@POSTGRES_ONLY
def test_21_api_calls_are_refused_with_a_problem_while_the_store_is_unreachable(
    unreachable_store: Flask, world: World, db_session: Session
) -> None:
    from tests.api.conftest import make_token

    bearer = make_token(unreachable_store, db_session, world.users["researcher"])
    response = _browser(unreachable_store).get(
        "/api/v1/incidents", headers={"Authorization": f"Bearer {bearer}"}, base_url=HTTPS
    )
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert "rate-limit store cannot be reached" in body["detail"]
    assert response.headers["Retry-After"].isdigit()


@POSTGRES_ONLY
def test_21_production_with_redis_answering_signs_in_and_counts_there(
    build_app: Callable[..., Flask], tmp_path: Path, world: World, db_session: Session
) -> None:
    redis = require_redis()
    app = build_app(**production_overrides(tmp_path))
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    db_session.flush()
    client = _browser(app)
    address = client.environ_base["REMOTE_ADDR"]
    try:
        response = log_in(client, user.email, DEFAULT_PASSWORD, base_url=HTTPS)
        assert response.status_code == 302  # on to enrol a second factor
        assert list(redis.scan_iter(match=f"*{address}*")), "the attempt was not counted"
    finally:
        forget_redis_keys(redis, address)


def test_21_development_configured_for_redis_fails_closed_too(
    build_app: Callable[..., Flask], world: World, closed_port: int
) -> None:
    """No per-process count anywhere: development counts in memory:// by default, and
    once pointed at a Redis it refuses like production while that Redis is away."""
    app = build_app(ratelimit_storage_uri=f"redis://127.0.0.1:{closed_port}")
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    response = log_in(_browser(app), user.email, DEFAULT_PASSWORD)
    assert response.status_code == 503
    assert SIGN_IN_UNAVAILABLE in response.get_data(as_text=True)
