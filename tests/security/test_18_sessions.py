"""Security check 18: the session id changes at login; logout, a password change, a role change,
a second-factor change and disabling the account end every session of that user.

Each change is made with the user logged in on two browsers; afterwards the other
browser is sent to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import User
from incidents.models.vocabularies import Role
from incidents.services import accounts, two_factor
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.conftest import enter, is_logged_in, log_in, open_sessions, token
from tests.web.conftest import World

SECRET_KEY = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')
NEW_PASSWORD = "an entirely new passphrase 7"


def _cookie_session(app: Flask, client: FlaskClient) -> dict[str, object]:
    """What the signed session cookie holds."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie"
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    value: dict[str, object] = serializer.loads(cookie.value)
    return value


def test_18_the_session_cookie_changes_at_login(app: Flask, world: World) -> None:
    client = app.test_client()
    user = world.users["researcher"]
    with client.session_transaction() as before_login:
        before_login["planted"] = "by someone who had the browser before"
    client.get("/login")
    cookie_before = client.get_cookie("session")
    assert cookie_before is not None
    assert log_in(client, user.email).status_code == 302
    cookie_after = client.get_cookie("session")
    assert cookie_after is not None and cookie_after.value != cookie_before.value
    after = _cookie_session(app, client)
    assert "planted" not in after, "something from before login survived it"
    first_token = after["sid"]
    # The cookie from before the login logs nobody in, in this browser or another.
    other = app.test_client()
    other.set_cookie("session", cookie_before.value)
    assert not is_logged_in(other)
    # A second login gets a token of its own.
    client.post("/logout", data={"csrf_token": token(client, "/account")})
    assert log_in(client, user.email).status_code == 302
    assert _cookie_session(app, client)["sid"] != first_token


def _enrolment_code(client: FlaskClient) -> tuple[str, str]:
    """The secret the enrolment page shows, and the current code of an app that has it."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200, page.status_code
    match = SECRET_KEY.search(page.get_data(as_text=True))
    assert match, "no secret key on the enrolment page"
    secret = match.group(1).replace(" ", "")
    return secret, pyotp.TOTP(secret).now()


def _log_out(client: FlaskClient, admin: Context, user: User) -> bool:
    response = client.post("/logout", data={"csrf_token": token(client, "/account")})
    assert response.status_code == 302
    return False  # this browser is logged out too


def _change_password(client: FlaskClient, admin: Context, user: User) -> bool:
    response = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": token(client, "/account/password"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return True  # this browser gets a new session


def _enable_two_factor(client: FlaskClient, admin: Context, user: User) -> bool:
    _secret, code = _enrolment_code(client)
    response = client.post(
        "/account/two-factor", data={"code": code, "csrf_token": token(client, "/account")}
    )
    assert response.status_code == 200, response.status_code
    assert "Your recovery codes" in response.get_data(as_text=True)
    return True


def _change_roles(client: FlaskClient, admin: Context, user: User) -> bool:
    assert accounts.set_roles(admin, user, [Role.ADVOCACY_LEAD])
    admin.session.flush()
    return False


def _reset_two_factor(client: FlaskClient, admin: Context, user: User) -> bool:
    two_factor.reset(admin, user)
    return False


def _disable(client: FlaskClient, admin: Context, user: User) -> bool:
    accounts.disable_user(admin, user)
    admin.session.flush()
    return False


# Each change gets the browser it is made in, an administrator's context and the user.
CHANGES: dict[str, Callable[[FlaskClient, Context, User], bool]] = {
    "logout": _log_out,
    "password change": _change_password,
    "two-factor enrolment": _enable_two_factor,
    "two-factor replacement": _enable_two_factor,
    "two-factor reset by an administrator": _reset_two_factor,
    "role change": _change_roles,
    "account disabled": _disable,
}


@pytest.mark.parametrize("change", CHANGES)
def test_18_the_change_ends_every_session_of_that_user(
    change: str,
    app: Flask,
    world: World,
    db_session: Session,
    context_for: Callable[..., Context],
) -> None:
    user = UserFactory(teams=[world.team])
    if change in ("two-factor replacement", "two-factor reset by an administrator"):
        secret = two_factor.new_secret()
        two_factor.enable(context_for(user), secret, pyotp.TOTP(secret).now())
    bystander = enter(app.test_client(), db_session, world.users["researcher"])
    this, other = (enter(app.test_client(), db_session, user) for _ in range(2))
    assert is_logged_in(this) and is_logged_in(other)

    this_one_stays = CHANGES[change](this, context_for(world.users["admin"]), user)

    assert not is_logged_in(other), f"{change}: the other browser is still logged in"
    assert is_logged_in(this) == this_one_stays
    assert len(open_sessions(db_session, user)) == int(this_one_stays)
    assert is_logged_in(bystander), "another user's session ended too"


def test_18_ending_the_other_sessions_keeps_this_one(
    app: Flask, world: World, db_session: Session
) -> None:
    user = world.users["auditor"]
    this, other = (enter(app.test_client(), db_session, user) for _ in range(2))
    response = this.post(
        "/account/sessions/end-others", data={"csrf_token": token(this, "/account")}
    )
    assert response.status_code == 302
    assert is_logged_in(this)
    assert not is_logged_in(other)
