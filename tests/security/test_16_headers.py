"""Security check 16: CSP without 'unsafe-inline' scripts and with frame-ancestors 'none',
nosniff, a Referrer-Policy, and HSTS in production — on every response: pages, redirects,
refusals, errors and the throttling answer included."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from incidents.db import utcnow
from incidents.web.security import public
from tests.factories import IncidentFactory
from tests.security.conftest import (
    HTTPS,
    POSTGRES_ONLY,
    enter,
    forget_redis_keys,
    log_in,
    production_overrides,
    require_redis,
    unique_address,
)
from tests.web.conftest import World

ONE_YEAR = 365 * 24 * 3600
LIMITS = {"login_limit_per_account": "1 per 15 minutes"}


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in csp.split(";"))):
        name, *values = directive.split()
        parsed[name.lower()] = values
    return parsed


def _email() -> str:
    return f"throttled-{uuid.uuid4().hex[:8]}@example.org"


def _with_a_failing_route(app: Flask) -> None:
    """A route that raises, to see the headers of a real unhandled-exception 500."""

    @public
    def fail() -> str:
        raise RuntimeError("raised on purpose by the headers test")

    app.add_url_rule("/raise-for-test", "raise_for_test", fail)


def _responses(
    app: Flask, world: World, db_session: Session, base_url: str, email: str, address: str
) -> dict[int | str, TestResponse]:
    """One response of each kind the application gives, by status."""
    anonymous = app.test_client()
    anonymous.environ_base["REMOTE_ADDR"] = address
    referer = {"Referer": f"{base_url}/"}

    def get(client: FlaskClient, path: str) -> TestResponse:
        return client.get(path, base_url=base_url)

    answers: dict[int | str, TestResponse] = {
        200: get(anonymous, "/login"),
        "static": get(anonymous, "/static/app.css"),
        302: get(anonymous, "/incidents"),
        400: anonymous.post("/logout", base_url=base_url, headers=referer),
        404: get(anonymous, "/no-such-page"),
        405: get(anonymous, "/logout"),
        500: get(anonymous, "/raise-for-test"),
    }
    answers[401] = log_in(anonymous, email, "not the password", base_url=base_url)
    answers[429] = log_in(anonymous, email, "not the password", base_url=base_url)

    advocate, researcher = world.users["advocacy_lead"], world.users["researcher"]
    for user in (advocate, researcher):
        user.totp_enabled_at = utcnow()  # enrolled, so production shows them the pages
    answers[403] = get(enter(app.test_client(), db_session, advocate), "/people")
    damaged = IncidentFactory(team_id=world.team.id)
    sealed = bytearray(damaged.narrative or b"")
    sealed[-1] ^= 1  # the record cannot be decrypted: the application's own 500 page
    damaged.narrative = bytes(sealed)
    db_session.flush()
    answers["500-undecryptable"] = get(
        enter(app.test_client(), db_session, researcher), f"/incidents/{damaged.reference}"
    )
    for label, response in answers.items():
        response.close()
        expected = 200 if label == "static" else 500 if label == "500-undecryptable" else label
        assert response.status_code == expected, f"{label}: got {response.status_code}"
    return answers


def _assert_headers(answers: dict[int | str, TestResponse], production: bool) -> None:
    for label, response in answers.items():
        where = f"the {label} response"
        directives = _directives(response.headers["Content-Security-Policy"])
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts, f"{where}: no script policy"
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
        assert directives["frame-ancestors"] == ["'none'"], where
        assert directives["object-src"] == ["'none'"], where
        assert response.headers["X-Content-Type-Options"] == "nosniff", where
        assert response.headers["Referrer-Policy"] == "same-origin", where
        hsts = response.headers.get("Strict-Transport-Security")
        if production:
            assert hsts, f"{where}: no HSTS in production"
            max_age = dict(p.strip().partition("=")[::2] for p in hsts.split(";"))["max-age"]
            assert int(max_age) >= ONE_YEAR, where
        else:
            assert hsts is None, f"{where}: HSTS outside production would pin plain-HTTP hosts"


def test_16_security_headers_on_every_kind_of_response_in_development(
    build_app: Callable[..., Flask], world: World, db_session: Session
) -> None:
    development = build_app(env="development", **LIMITS)
    _with_a_failing_route(development)
    answers = _responses(
        development, world, db_session, "http://localhost", _email(), unique_address()
    )
    _assert_headers(answers, False)


@POSTGRES_ONLY
def test_16_security_headers_on_every_kind_of_response_in_production(
    build_app: Callable[..., Flask], world: World, db_session: Session, tmp_path: Path
) -> None:
    redis = require_redis()
    production = build_app(**production_overrides(tmp_path, **LIMITS))
    _with_a_failing_route(production)
    email, address = _email(), unique_address()
    try:
        _assert_headers(_responses(production, world, db_session, HTTPS, email, address), True)
    finally:
        forget_redis_keys(redis, email, address)
