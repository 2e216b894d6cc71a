"""Bearer tokens at the API's door, on SQLite and PostgreSQL: `GET /api/v1/me` answers for
the token's user; no token, a malformed header, an unknown, revoked or expired token and
a disabled user's token all get the same 401 problem with `WWW-Authenticate: Bearer`; a
logged-in browser's cookie never authenticates a call; a change of the user's roles ends
the token; calls are counted per token — and per address without a valid one — and the
one over the limit gets 429."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto.keys import MasterKey
from incidents.db import utcnow
from incidents.errors import ConfigurationError
from incidents.extensions import db
from incidents.models import ApiToken, User
from incidents.models.vocabularies import Role
from incidents.services import accounts
from incidents.settings import load_settings
from tests.api.conftest import TokenClient, make_token, problem
from tests.conftest import make_test_app
from tests.security.conftest import database_url, reset_limiter_storage
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]


def _row(db_session: Session, token_text: str) -> ApiToken:
    digest = hashlib.sha256(token_text.encode()).hexdigest()
    db_session.expire_all()
    return db_session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()


def _refusal(response: Any) -> tuple[int, str, str]:
    body = problem(response)
    return response.status_code, body["detail"], response.headers["WWW-Authenticate"][:6]


def test_me_answers_for_the_tokens_user(api_client: ApiClient, db_session: Session) -> None:
    caller = api_client("researcher", ["cases:read", "advocacy:read"])
    response = caller.get("/me")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    token = _row(db_session, caller.token)
    assert body["email"] == caller.user.email
    assert body["roles"] == ["researcher"]
    assert body["token"]["id"] == str(token.id)
    assert body["token"]["name"] == token.name
    assert body["token"]["scopes"] == ["cases:read", "advocacy:read"]
    assert token.expires_at is not None
    assert body["token"]["expires_at"].startswith(token.expires_at.date().isoformat())
    assert caller.token not in response.get_data(as_text=True)
    assert token.last_used_at is not None  # committed with the call


def test_every_refusal_is_the_same_401(
    api_client: ApiClient, app: Flask, db_session: Session, ctx: Context
) -> None:
    live = api_client("researcher")
    revoked = api_client("researcher")
    accounts.set_teams(ctx, revoked.user, [])  # a change of access revokes the token
    expired = api_client("researcher")
    _row(db_session, expired.token).expires_at = utcnow() - timedelta(seconds=1)
    disabled = api_client("advocacy_lead")
    accounts.disable_user(ctx, disabled.user)
    db_session.flush()
    client = app.test_client()

    answers = set()
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {live.token[:-2]}"},
        {"Authorization": f"Bearer {live.token[4:]}"},
        {"Authorization": f"Bearer {revoked.token}"},
        {"Authorization": f"Bearer {expired.token}"},
        {"Authorization": f"Bearer {disabled.token}"},
    ):
        response = client.get("/api/v1/me", headers=headers)
        answers.add(_refusal(response))
    (status, detail, challenge), *others = answers
    assert others == [] and (status, challenge) == (401, "Bearer")
    assert detail.startswith("The API token is not valid.")
    assert live.get("/me").status_code == 200


def test_a_cookie_never_authenticates_the_api(
    api_client: ApiClient,
    client: FlaskClient,
    world: World,
    login_as: Callable[[User], User],
) -> None:
    login_as(world.users["researcher"])
    assert client.get("/account").status_code == 200  # logged in, in this browser
    response = client.get("/api/v1/me")
    assert _refusal(response)[0] == 401

    other = api_client("advocacy_lead")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {other.token}"})
    assert response.get_json()["email"] == other.user.email  # the token's user, not the cookie's


def test_a_role_change_ends_the_token_at_once(api_client: ApiClient, ctx: Context) -> None:
    caller = api_client("researcher")
    assert caller.get("/me").status_code == 200
    accounts.set_roles(ctx, caller.user, [Role.RESEARCHER, Role.AUDITOR])
    assert _refusal(caller.get("/me"))[0] == 401


# -- the rate limit ---------------------------------------------------------------------


@pytest.fixture
def limited_app(
    app: Flask, db_session: Session, tmp_path: Path, master_key: MasterKey
) -> Iterator[Flask]:
    """The application with three API calls a minute, on the test's transaction."""
    built = make_test_app(
        database_url(app), tmp_path / "instance", master_key, api_rate_limit="3 per minute"
    )
    db.use_session_factory(built, app.extensions["incidents.db"].session_factory)
    try:
        yield built
    finally:
        reset_limiter_storage()
        with built.app_context():
            db.engine.dispose()


def test_calls_are_counted_per_token_and_per_address_without_one(
    limited_app: Flask, db_session: Session, world: World
) -> None:
    first = make_token(limited_app, db_session, world.users["researcher"], ["cases:read"])
    second = make_token(limited_app, db_session, world.users["auditor"], ["audit:read"])
    client = limited_app.test_client()

    def call(token: str) -> int:
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert [call(first) for _ in range(3)] == [200, 200, 200]
    over = client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"})
    assert over.status_code == 429
    assert problem(over)["title"] == "Too Many Requests"
    assert call(second) == 200  # another token counts on its own

    # Without a valid token, calls from one address share a count: guessing is limited.
    assert [call("inc_guess") for _ in range(3)] == [401, 401, 401]
    assert call("inc_another-guess") == 429
    assert call(second) == 200  # the address's count is not the token's


def test_a_malformed_rate_limit_stops_start_up_with_one_line() -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"api_rate_limit": "lots"}, environ={})
    assert str(refused.value) == (
        "overrides: api_rate_limit must be a rate such as '5 per 15 minutes', not 'lots'"
    )
    assert load_settings(environ={}).api_rate_limit == "300 per minute"
