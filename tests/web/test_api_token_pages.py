"""Personal API tokens on the account page and the administration pages: a token is made
after a recent password entry, offered only the scopes the user's roles can use, shown
once on the page that answers, listed without its text and revoked by its owner; another
user's is not found; an administrator sees how many a user has and revokes them all."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import ApiToken, User
from incidents.models.vocabularies import Role
from incidents.services import api_tokens
from tests import factories
from tests.conftest import csrf_token
from tests.factories import UserFactory
from tests.helpers import events
from tests.web.conftest import World

NEW = "/account/api-tokens/new"
TOKEN_TEXT = re.compile(r'value="(inc_[A-Za-z0-9_-]{40,})"')
CHECKBOX = re.compile(r'name="scopes"[^>]*value="([a-z:]+)"')


def _make(client: FlaskClient, **fields: object) -> tuple[int, str]:
    data = {
        "name": "nightly export",
        "scopes": ["cases:read"],
        "expires_in_days": "30",
        "csrf_token": csrf_token(client, NEW),
        **fields,
    }
    response = client.post(NEW, data=data)
    return response.status_code, response.get_data(as_text=True)


def _tokens(db_session: Session, user: User) -> list[ApiToken]:
    db_session.expire_all()
    return list(db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def test_the_form_offers_only_the_scopes_the_roles_can_use(
    client: FlaskClient, world: World, login_as: Callable[[User], User]
) -> None:
    login_as(world.users["researcher"])
    page = client.get(NEW).get_data(as_text=True)
    assert CHECKBOX.findall(page) == ["cases:read", "cases:write", "advocacy:read"]

    other = FlaskClient(client.application)
    admin = world.users["admin"]
    response = other.post(
        "/login",
        data={
            "email": admin.email,
            "password": factories.DEFAULT_PASSWORD,
            "csrf_token": csrf_token(other, "/login"),
        },
    )
    assert response.status_code == 302
    page = other.get(NEW).get_data(as_text=True)
    assert CHECKBOX.findall(page) == []
    assert "Your roles allow nothing an API token may do" in page


def test_a_token_is_shown_once_then_listed_without_its_text(
    client: FlaskClient, world: World, login_as: Callable[[User], User], db_session: Session
) -> None:
    user = login_as(world.users["researcher"])
    status, page = _make(client, scopes=["cases:read", "advocacy:read"])

    assert status == 200
    assert "Copy it now: it will not be shown again" in page
    (token_text,) = TOKEN_TEXT.findall(page)
    (token,) = _tokens(db_session, user)
    assert token.token_hash == hashlib.sha256(token_text.encode()).hexdigest()
    assert (token.name, token.scopes) == ("nightly export", "cases:read advocacy:read")
    assert len(events(db_session, AuditAction.API_TOKEN_CREATE, target=token)) == 1

    account = client.get("/account").get_data(as_text=True)
    assert "nightly export" in account and "cases:read, advocacy:read" in account
    assert token_text not in account and token.token_hash not in account
    assert f"/account/api-tokens/{token.id}/revoke" in account


def test_a_refused_form_says_what_to_do_and_makes_nothing(
    client: FlaskClient, world: World, login_as: Callable[[User], User], db_session: Session
) -> None:
    user = login_as(world.users["researcher"])
    for fields, message in (
        ({"scopes": ["advocacy:write"]}, "give the scope advocacy:write nothing to allow"),
        ({"scopes": []}, "Choose at least one scope"),
        ({"expires_in_days": "a year"}, "Enter a number of days from 1 to 365."),
        ({"expires_in_days": "400"}, "Choose an expiry of 1 to 365 days"),
        ({"name": ""}, "Give the token a name that says where it is used."),
    ):
        status, page = _make(client, **fields)
        assert status == 422, fields
        assert message in page, fields
        assert "inc_" not in page
    assert _tokens(db_session, user) == []


def test_the_owner_revokes_and_another_user_finds_nothing(
    client: FlaskClient, world: World, login_as: Callable[[User], User], db_session: Session
) -> None:
    user = login_as(world.users["researcher"])
    _make(client, name="laptop")
    (mine,) = _tokens(db_session, user)
    colleague = UserFactory(role=Role.RESEARCHER, teams=[world.team])
    _, theirs = api_tokens.create(factories.context(), colleague, "theirs", ["cases:read"])
    token = csrf_token(client, "/account")

    response = client.post(f"/account/api-tokens/{theirs.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 404
    unknown = "/account/api-tokens/00000000-0000-4000-8000-000000000000/revoke"
    assert client.post(unknown, data={"csrf_token": token}).status_code == 404
    db_session.expire_all()
    assert theirs.revoked_at is None

    response = client.post(f"/account/api-tokens/{mine.id}/revoke", data={"csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (302, "/account")
    (mine,) = _tokens(db_session, user)
    assert mine.revoked_at is not None
    account = client.get("/account").get_data(as_text=True)
    assert "Revoked the API token “laptop”: it stops working at once." in account
    assert "None in use." in account and "1 revoked or expired token is not listed." in account


def test_an_administrator_sees_and_revokes_a_users_tokens(
    client: FlaskClient, world: World, login_as: Callable[[User], User], db_session: Session
) -> None:
    owner = world.users["researcher"]
    for name in ("one", "two"):
        api_tokens.create(factories.context(), owner, name, ["cases:read"])
    login_as(world.users["admin"])
    page = client.get(f"/admin/users/{owner.id}").get_data(as_text=True)
    assert "2 in use" in page and "Revoke every API token" in page

    response = client.post(
        f"/admin/users/{owner.id}/api-tokens/revoke",
        data={"csrf_token": csrf_token(client, f"/admin/users/{owner.id}")},
    )
    assert response.status_code == 302
    assert all(token.revoked_at is not None for token in _tokens(db_session, owner))
    for token in _tokens(db_session, owner):
        (event,) = events(db_session, AuditAction.API_TOKEN_REVOKE, target=token)
        assert (event.actor, event.detail["reason"]) == (
            world.users["admin"].email,
            "administrator",
        )
    page = client.get(f"/admin/users/{owner.id}").get_data(as_text=True)
    assert "Revoked 2 API tokens of" in page and "0 in use" in page
