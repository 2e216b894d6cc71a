"""A session that times out while a researcher types keeps the form (issue 10, "never lose
typing"): the POST is kept as an encrypted draft, the researcher logs in again with the
password and the second factor and finds the form filled in; nobody else does."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import FileField, PasswordField, StringField, SubmitField

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import Draft, Person, User
from incidents.services import sessions, two_factor
from incidents.web.drafts import KEPT_NOTICE, RESTORED_NOTICE, DraftForm, signed_names
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import events
from tests.security.conftest import enter, is_logged_in, open_sessions, token
from tests.web.conftest import World

PAGE = "/people/new"
MARKER = re.compile(r'name="draft_fields" type="hidden" value="([^"]*)"')
CANARY = "Canary 4b9c: Зелимхан Абуев"
TYPED = {
    "full_name": CANARY,
    "aliases": "Zelimkhan Abuyev\nЗелимхан",
    "date_of_birth": "1991-04",
    "contact": "Canary contact 7e2f, via the cousin in Shali",
    "gender": "man",
    "age_band": "30_49",
}


def _enrol(context_for: Callable[..., Context], user: User) -> pyotp.TOTP:
    secret = two_factor.new_secret()
    authenticator = pyotp.TOTP(secret)
    two_factor.enable(context_for(user), secret, authenticator.now())
    return authenticator


def _form_page(client: FlaskClient) -> tuple[str, str]:
    """The CSRF token and the draft marker of the form on PAGE."""
    page = client.get(PAGE)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    marker = MARKER.search(html)
    assert marker, "the form carries no draft marker"
    return token(client, PAGE), marker.group(1)


def _time_out(db_session: Session, user: User, app: Flask) -> None:
    """The user's one session, as if they had been typing for longer than the idle limit."""
    (row,) = open_sessions(db_session, user)
    idle = timedelta(minutes=app.config["INCIDENTS_SETTINGS"].session_idle_minutes)
    row.last_seen_at = utcnow() - idle - timedelta(seconds=5)
    db_session.flush()


def _post_form(client: FlaskClient, world: World, csrf: str, marker: str, **extra: str) -> str:
    """POST what the researcher typed; where the answer sends the browser."""
    data = {**TYPED, "team": str(world.team.id), "csrf_token": csrf, "draft_fields": marker}
    response = client.post(PAGE, data={**data, **extra})
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def _log_in(client: FlaskClient, user: User, authenticator: pyotp.TOTP | None = None) -> str:
    """Log in through the forms, from the page the session ended on; where it sends."""
    login = f"/login?next={PAGE}"
    response = client.post(
        login,
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": token(client, login),
        },
    )
    assert response.status_code == 302, response.status_code
    if authenticator is not None:
        assert response.headers["Location"] == "/login/verify"
        response = client.post(
            "/login/verify",
            data={
                # the step after the enrolment's, whose code is spent
                "code": authenticator.at(time.time() + 30),
                "csrf_token": token(client, "/login/verify"),
            },
        )
        assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def _drafts(db_session: Session) -> list[Draft]:
    db_session.expire_all()
    return list(db_session.scalars(select(Draft)))


def _people(db_session: Session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(Person)) or 0)


def _cookie(app: Flask, client: FlaskClient) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return ""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return repr(serializer.loads(cookie.value))


def test_a_timed_out_form_is_kept_and_back_after_logging_in_again(
    app: Flask,
    world: World,
    db_session: Session,
    context_for: Callable[..., Context],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    researcher = world.users["researcher"]
    authenticator = _enrol(context_for, researcher)
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    people_before = _people(db_session)
    _time_out(db_session, researcher, app)

    # A password typed into the form by mistake is never kept: the page did not offer it.
    location = _post_form(client, world, csrf, marker, password="hunter2 typed by mistake")
    assert location == f"/login?next={PAGE}"
    assert _people(db_session) == people_before, "the expired session saved a person"
    (draft,) = _drafts(db_session)
    assert draft.user_id == researcher.id and draft.path == PAGE
    assert CANARY.encode() not in draft.content and b"Shali" not in draft.content
    (kept,) = events(db_session, "draft.keep")
    assert "password" not in kept.fields and "csrf_token" not in kept.fields
    assert set(kept.fields) == {*TYPED, "team"}
    assert not is_logged_in(client)
    login_page = client.get(location).get_data(as_text=True)
    assert "Your session has ended" in login_page and KEPT_NOTICE in login_page
    assert CANARY not in _cookie(app, client) and "Shali" not in _cookie(app, client)

    assert _log_in(client, researcher, authenticator) == PAGE
    page = client.get(PAGE).get_data(as_text=True)
    assert RESTORED_NOTICE in page
    assert f'value="{CANARY}"' in page and "via the cousin in Shali</textarea>" in page
    assert 'value="1991-04"' in page and '<option selected value="man">' in page
    assert _drafts(db_session) == [], "a restored draft stays"
    (restored,) = events(db_session, "draft.restore")
    assert restored.target_id == kept.target_id and restored.actor_id == researcher.id
    again = client.get(PAGE).get_data(as_text=True)
    assert CANARY not in again and RESTORED_NOTICE not in again, "restored twice"

    # What came back can be saved as it is.
    csrf, marker = _form_page(client)
    response = client.post(
        PAGE, data={**TYPED, "team": str(world.team.id), "csrf_token": csrf, "draft_fields": marker}
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/people/")
    assert _people(db_session) == people_before + 1
    for record in caplog.records:
        message = record.getMessage()
        assert CANARY not in message and "Shali" not in message, "typed text in the log"


def test_another_user_on_that_browser_does_not_get_it(
    app: Flask, world: World, db_session: Session
) -> None:
    researcher = world.users["researcher"]
    colleague = UserFactory(teams=[world.team])
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    _time_out(db_session, researcher, app)
    assert _post_form(client, world, csrf, marker) == f"/login?next={PAGE}"

    assert _log_in(client, colleague) == PAGE
    page = client.get(PAGE).get_data(as_text=True)
    assert CANARY not in page and RESTORED_NOTICE not in page
    assert len(_drafts(db_session)) == 1, "the researcher's draft went to someone else"
    assert events(db_session, "draft.restore") == []

    elsewhere = app.test_client()  # the researcher, logging in on another browser
    assert _log_in(elsewhere, researcher) == PAGE
    assert CANARY in elsewhere.get(PAGE).get_data(as_text=True)


def test_a_form_open_for_hours_is_accepted_while_its_session_lives_and_kept_after(
    app: Flask, world: World, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form's CSRF token does not expire on its own (the session's timeouts bound it): a
    testimony typed for three hours is not refused for its token's age, and once the
    session has ended the draft is kept, since the token was issued to this browser."""
    researcher = world.users["researcher"]
    client = enter(app.test_client(), db_session, researcher)
    _csrf, marker = _form_page(client)
    with client.session_transaction() as cookie:
        issued_here = cookie["csrf_token"]
    three_hours_ago = int(time.time()) - 3 * 3600
    with monkeypatch.context() as clock:  # the token the page showed three hours ago
        clock.setattr(TimestampSigner, "get_timestamp", lambda _self: three_hours_ago)
        csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(issued_here)
    live = client.post(PAGE, data={**TYPED, "csrf_token": csrf, "draft_fields": marker})
    assert live.status_code != 400, "a token three hours old is refused for its age"
    (row,) = open_sessions(db_session, researcher)
    absolute = timedelta(hours=app.config["INCIDENTS_SETTINGS"].session_absolute_hours)
    row.created_at = utcnow() - absolute - timedelta(minutes=1)
    db_session.flush()
    assert _post_form(client, world, csrf, marker) == f"/login?next={PAGE}"
    assert len(_drafts(db_session)) == 1
    db_session.expire_all()
    assert row.end_reason == sessions.EndReason.EXPIRED


def test_a_form_whose_token_or_marker_was_not_made_here_is_not_kept(
    app: Flask, world: World, db_session: Session
) -> None:
    researcher = world.users["researcher"]
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    foreign_csrf = token(app.test_client(), "/login")  # another browser's
    forged_marker = marker.rsplit(".", 1)[0] + ".forged"
    _time_out(db_session, researcher, app)
    assert _post_form(client, world, foreign_csrf, marker) == "/login"
    assert _drafts(db_session) == []
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    _time_out(db_session, researcher, app)
    assert _post_form(client, world, csrf, forged_marker) == "/login"
    assert _drafts(db_session) == []


def test_a_session_ended_by_logging_out_elsewhere_keeps_nothing(
    app: Flask, world: World, db_session: Session, context_for: Callable[..., Context]
) -> None:
    researcher = world.users["researcher"]
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    sessions.end_all_sessions(context_for(researcher), researcher, sessions.EndReason.LOGOUT)
    db_session.flush()
    assert _post_form(client, world, csrf, marker) == "/login"
    assert _drafts(db_session) == []
    assert "Your session has ended" in client.get("/login").get_data(as_text=True)


def test_a_live_session_posts_as_before(app: Flask, world: World, db_session: Session) -> None:
    researcher = world.users["researcher"]
    client = enter(app.test_client(), db_session, researcher)
    csrf, marker = _form_page(client)
    data = {**TYPED, "full_name": "", "team": str(world.team.id), "csrf_token": csrf}
    response = client.post(PAGE, data={**data, "draft_fields": marker})
    assert response.status_code == 422  # refused with its messages, nothing kept
    assert 'value="1991-04"' in response.get_data(as_text=True)
    assert _drafts(db_session) == []


class _Mixed(DraftForm):
    title = StringField("Title")
    password = PasswordField("Password")
    upload = FileField("File")
    save = SubmitField("Save")
    note = StringField("Note")
    draft_excluded = frozenset({"note"})


def test_the_marker_names_no_password_file_token_or_excluded_field(app: Flask) -> None:
    with app.test_request_context("/people/new", method="POST", data={}):
        form = _Mixed()
        assert form.keepable_names() == {"title"}
        assert signed_names(form.draft_fields.data) == {"title"}
        assert signed_names("title") == frozenset()
        assert signed_names(None) == frozenset()
