"""Security check 23: TOTP second factor, mandatory in production; a replayed code is refused;
recovery codes are single-use and stored hashed.

The authenticator app is pyotp with the secret the enrolment page shows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.errors import ConfigurationError
from incidents.models import RecoveryCode, User
from incidents.services import accounts, two_factor
from incidents.settings import load_settings
from tests.factories import UserFactory
from tests.helpers import events
from tests.security.conftest import HTTPS, POSTGRES_ONLY, enter, log_in, token
from tests.unit.test_settings import production
from tests.web.conftest import World
from tests.web.test_access_matrix import MATRIX, _evidence_url, _url

SECRET_KEY = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')
RECOVERY_CODE = re.compile(r"<li><code>([a-z2-7-]+)</code></li>")
ENROLMENT = "/account/two-factor"
# The only pages a logged-in user without a required second factor may use.
BEFORE_ENROLMENT = {
    "static",
    "auth.login",
    "auth.verify",
    "auth.logout",
    "auth.reauthenticate",
    "account.two_factor_setup",
    # Leaving at once is for everyone, and lands on a page that needs no login.
    "auth.quick_exit",
    "auth.neutral_page",
    # No session at all: a calendar program fetches the follow-up feed by its token.
    "dashboard.calendar_feed",
    # The JSON API: a bearer token, never the cookie's login (a token is made only after
    # a second factor where one is required); its description is public.
    *(endpoint for endpoint, _method in MATRIX if endpoint.startswith("api.")),
}


@pytest.fixture
def required_app(build_app: Callable[..., Flask]) -> Flask:
    """The test application with two-factor authentication required, as in production."""
    return build_app(require_two_factor=True)


def _exempt(app: Flask, endpoint: str) -> bool:
    view = app.view_functions[endpoint]
    return endpoint == "static" or any(
        getattr(view, flag, False) for flag in ("is_public", "before_enrolment")
    )


def test_23_a_user_without_a_second_factor_is_sent_to_enrol_from_every_page(
    required_app: Flask, world: World, db_session: Session
) -> None:
    exempt = {
        endpoint for endpoint in required_app.view_functions if _exempt(required_app, endpoint)
    }
    assert exempt == BEFORE_ENROLMENT
    # One record per route for both roles: every request is turned away before it acts.
    urls: dict[tuple[str, str], str] = {}
    for role in ("researcher", "admin"):
        client = enter(required_app.test_client(), db_session, world.users[role])
        csrf = token(client, ENROLMENT)  # the session's token, valid for all its forms
        for endpoint, method in sorted(MATRIX):
            if endpoint in BEFORE_ENROLMENT:
                continue
            if (endpoint, method) not in urls:
                urls[(endpoint, method)] = _evidence_url(endpoint, world, client) or _url(
                    endpoint, world
                )
            url = urls[(endpoint, method)]
            data = {"csrf_token": csrf} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            response.close()
            assert (response.status_code, response.headers.get("Location")) == (
                302,
                ENROLMENT,
            ), f"{method} {url} as {role}"


def _verify(client: FlaskClient, code: str) -> int:
    response = client.post(
        "/login/verify", data={"code": code, "csrf_token": token(client, "/login/verify")}
    )
    return response.status_code


def _password_step(client: FlaskClient, user: User) -> None:
    response = log_in(client, user.email)
    assert (response.status_code, response.headers["Location"]) == (302, "/login/verify")
    assert client.get("/account").status_code == 302, "logged in after the password alone"


def _log_out(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": token(client, "/account")})


def test_23_enrol_then_log_in_with_a_code_and_a_replay_is_refused(
    required_app: Flask, world: World, db_session: Session
) -> None:
    user = UserFactory(teams=[world.team])
    client = required_app.test_client()
    assert log_in(client, user.email).status_code == 302
    assert client.get("/incidents").headers["Location"] == ENROLMENT

    page = client.get(ENROLMENT).get_data(as_text=True)
    match = SECRET_KEY.search(page)
    assert match, "the enrolment page shows no key"
    secret = match.group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in page  # the QR code, as an image the CSP allows
    with client.session_transaction() as cookie:  # signed, not encrypted: readable
        assert secret not in repr(dict(cookie)), "the secret being enrolled is in the cookie"
    authenticator = pyotp.TOTP(secret)
    enrolment_code = authenticator.now()
    response = client.post(
        ENROLMENT, data={"code": enrolment_code, "csrf_token": token(client, ENROLMENT)}
    )
    assert response.status_code == 200
    codes = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/incidents").status_code == 200  # enrolled: the pages open
    _log_out(client)

    # The code that confirmed the enrolment is spent; the next one (the clock a step on)
    # logs in, once.
    next_code = authenticator.at(time.time() + 30)
    _password_step(client, user)
    assert _verify(client, enrolment_code) == 401
    assert _verify(client, next_code) == 302
    assert client.get("/incidents").status_code == 200
    _log_out(client)
    _password_step(client, user)
    assert _verify(client, next_code) == 401, "a replayed code was accepted"

    # Recovery codes: each works once.
    assert _verify(client, codes[0]) == 302
    _log_out(client)
    _password_step(client, user)
    assert _verify(client, codes[0]) == 401, "a recovery code worked twice"
    assert _verify(client, codes[1].upper().replace("-", " ")) == 302  # as typed from paper

    db_session.expire_all()
    rows = db_session.execute(
        select(RecoveryCode.__table__).where(RecoveryCode.user_id == user.id)
    ).all()
    assert len(rows) == 10 and sum(row.used_at is not None for row in rows) == 2
    stored = repr(rows)
    for code in codes:
        for form in (code, code.replace("-", ""), code.upper()):
            assert form not in stored, "a recovery code is stored as it is"
    assert user.totp_secret is not None and secret.encode() not in user.totp_secret


def test_23_production_refuses_to_make_two_factor_optional() -> None:
    with pytest.raises(ConfigurationError, match="two-factor"):
        load_settings(environ=production(INCIDENTS_REQUIRE_TWO_FACTOR="false"))
    assert load_settings(environ=production()).require_two_factor


def test_23_demo_accounts_skip_enrolment_outside_production_and_say_so(
    required_app: Flask, world: World, db_session: Session
) -> None:
    demo = UserFactory(teams=[world.team], two_factor_exempt=True)
    page = enter(required_app.test_client(), db_session, demo).get("/incidents")
    assert page.status_code == 200
    assert "Demo account:" in page.get_data(as_text=True)
    # A real account on the same installation is not shown the banner.
    real = enter(required_app.test_client(), db_session, world.users["researcher"])
    assert "Demo account:" not in real.get(ENROLMENT).get_data(as_text=True)


@POSTGRES_ONLY
def test_23_demo_accounts_must_enrol_in_production(
    production_app: Flask, world: World, db_session: Session
) -> None:
    demo = UserFactory(teams=[world.team], two_factor_exempt=True)
    client = enter(production_app.test_client(), db_session, demo)
    response = client.get("/incidents", base_url=HTTPS)
    assert (response.status_code, response.headers["Location"]) == (302, ENROLMENT)
    page = client.get(ENROLMENT, base_url=HTTPS).get_data(as_text=True)
    assert "Demo account:" not in page


def test_23_a_pending_login_is_worthless_once_the_password_changes(
    required_app: Flask, db_session: Session, ctx: Context, context_for: Callable[..., Context]
) -> None:
    """The password step is only good for the password it checked."""
    user, secret = _enrolled_user(context_for)
    client = required_app.test_client()
    _password_step(client, user)
    accounts.set_password(ctx, user, "an entirely new passphrase 7")
    db_session.flush()
    response = client.post(
        "/login/verify",
        data={
            "code": pyotp.TOTP(secret).at(time.time() + 30),
            "csrf_token": token(client, "/login"),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("kind", "typed"),
    [("totp", "{totp}"), ("totp", "{totp3}-{totp3b}"), ("recovery-code", "{recovery}")],
)
def test_23_the_login_event_names_the_factor_that_was_used(
    required_app: Flask,
    db_session: Session,
    context_for: Callable[..., Context],
    kind: str,
    typed: str,
) -> None:
    user, secret = _enrolled_user(context_for)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    recovery = two_factor.regenerate_recovery_codes(context_for(user))[0]
    db_session.flush()
    client = required_app.test_client()
    _password_step(client, user)
    entered = typed.format(totp=code, totp3=code[:3], totp3b=code[3:], recovery=recovery)
    assert _verify(client, entered) == 302
    (event,) = events(db_session, action="login.success", target=user)
    assert event.detail["second_factor"] == kind


def _enrolled_user(context_for: Callable[..., Context]) -> tuple[User, str]:
    user = UserFactory()
    secret = two_factor.new_secret()
    as_user = context_for(user)
    two_factor.enable(as_user, secret, pyotp.TOTP(secret).now())
    as_user.session.flush()
    return user, secret
