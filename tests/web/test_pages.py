"""The first page set, as each role sees it."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import User
from incidents.models.vocabularies import DatePrecision
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, IncidentFactory
from tests.helpers import count_events
from tests.web.conftest import World

CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')
SECRETS = ("CANARY-narrative-7Q2", "CANARY-place-9Z4", "CANARY-other-team-3K8")


def _decryptions(session: Session) -> int:
    return count_events(session, AuditAction.SECRET_DECRYPT)


def test_researcher_of_the_team_sees_the_secret_fields(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    before = _decryptions(db_session)
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert "CANARY-narrative-7Q2" in page
    assert "CANARY-place-9Z4" in page
    assert world.incident.title in page
    assert _decryptions(db_session) == before + 1  # exactly one event per secret view


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor"])
def test_other_roles_see_no_secret(
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    as_role(role)
    before = _decryptions(db_session)
    for path in ("/incidents", f"/incidents/{world.incident.reference}"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert world.incident.reference in body
        for secret in SECRETS:
            assert secret not in body, f"{secret} shown to {role} at {path}"
    assert _decryptions(db_session) == before  # nothing was even decrypted


def test_auditor_sees_exact_dates_and_advocacy_lead_only_month(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    incident = IncidentFactory(
        team_id=world.team.id, start_date=dt.date(2017, 3, 14), start_precision=DatePrecision.DAY
    )
    as_role("auditor")
    assert '"2017-03-14"' in client.get(f"/incidents/{incident.reference}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})
    as_role("advocacy_lead")
    body = client.get(f"/incidents/{incident.reference}").get_data(as_text=True)
    assert "2017-03-14" not in body
    assert "14 March" not in body
    assert '"2017-03"' in body  # the public form: month and year


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead", "auditor", "admin"])
def test_another_teams_incident_is_not_found(
    role: str, client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role(role)
    response = client.get(f"/incidents/{world.other_incident.reference}")
    assert response.status_code == 404
    assert "CANARY-other-team-3K8" not in response.get_data(as_text=True)
    listing = client.get("/incidents").get_data(as_text=True)
    assert world.other_incident.reference not in listing


def test_malformed_and_unknown_references_are_not_found(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    for reference in ("INC-1999-9999", "../../etc/passwd", "INC-2017-0001'--", "x" * 300):
        assert client.get(f"/incidents/{reference}").status_code == 404


def test_list_pages_through_with_a_cursor(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    created = [world.incident] + [IncidentFactory(team_id=world.team.id) for _ in range(55)]
    references = sorted(i.reference for i in created)
    as_role("researcher")
    first = client.get("/incidents").get_data(as_text=True)
    cursor = re.search(r"\?after=([A-Z0-9-]+)", first)
    assert cursor is not None, "a second page is offered"
    assert cursor.group(1) == references[49]
    second = client.get(f"/incidents?after={cursor.group(1)}").get_data(as_text=True)
    assert references[50] in second and references[-1] in second
    assert references[0] not in second
    assert "?after=" not in second  # the last page offers no next page
    # A malformed cursor starts again from the first page instead of failing.
    assert references[0] in client.get("/incidents?after=not-a-cursor").get_data(as_text=True)


def test_login_answers_the_same_for_unknown_user_and_wrong_password(
    client: FlaskClient, world: World
) -> None:
    answers = []
    for email in (world.users["researcher"].email, "nobody@example.org"):
        response = client.post(
            "/login",
            data={
                "email": email,
                "password": "not the password",
                "csrf_token": csrf_token(client, "/login"),
            },
        )
        # The CSRF token is time-stamped and the e-mail is echoed back: neither tells
        # whether the account exists, so both are taken out before comparing.
        body = CSRF_VALUE.sub("", response.get_data(as_text=True)).replace(email, "")
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


def test_login_then_logout(client: FlaskClient, world: World) -> None:
    user = world.users["researcher"]
    response = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    assert client.get("/incidents").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})
    assert client.get("/incidents").status_code == 302


def test_login_follows_only_local_next(client: FlaskClient, world: World) -> None:
    user = world.users["researcher"]
    for target, expected in (
        ("/incidents", "/incidents"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
    ):
        response = client.post(
            f"/login?next={target}",
            data={
                "email": user.email,
                "password": DEFAULT_PASSWORD,
                "csrf_token": csrf_token(client, "/login"),
            },
        )
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})


def test_state_changing_request_without_csrf_token_is_refused(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    user = world.users["researcher"]
    assert (
        client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD}).status_code
        == 400
    )
    as_role("researcher")
    assert client.post("/logout").status_code == 400
    assert client.get("/incidents").status_code == 200  # still logged in


def test_security_headers_on_pages_and_errors(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    responses = [client.get("/login"), client.get("/no-such-page")]
    as_role("researcher")
    responses += [client.get("/incidents"), client.get("/incidents/INC-1999-0001")]
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only(client: FlaskClient, world: World) -> None:
    user = world.users["researcher"]
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_disabled_user_cannot_log_in(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    user = world.users["researcher"]
    user.is_active = False
    db_session.flush()
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 401


def test_a_damaged_record_gets_a_clear_error_naming_it(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    damaged = bytearray(world.incident.narrative or b"")
    damaged[-1] ^= 1  # one flipped bit in the tag
    world.incident.narrative = bytes(damaged)
    db_session.flush()
    as_role("researcher")
    response = client.get(f"/incidents/{world.incident.reference}")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert f"{world.incident.reference}, field narrative" in body
    assert "cannot be decrypted" in body
    assert "Traceback" not in body
    assert "CANARY-place-9Z4" not in body  # not even the fields that would still decrypt
    assert client.get("/incidents").status_code == 200  # the rest of the app still works


def test_no_secret_reaches_the_application_log(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    as_role("researcher")
    assert "CANARY-narrative-7Q2" in client.get(f"/incidents/{world.incident.reference}").text
    # A failed login from another browser, so that it reaches the login check itself.
    stranger = client.application.test_client()
    refused = stranger.post(
        "/login",
        data={
            "email": "CANARY-login\r\nINFO forged line",
            "password": "CANARY-password-1",
            "csrf_token": csrf_token(stranger, "/login"),
        },
    )
    assert refused.status_code == 401
    assert "CANARY" not in caplog.text
    assert "forged line" not in caplog.text


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("researcher", "/incidents"),
        ("advocacy_lead", "/incidents"),
        ("auditor", "/incidents"),
        ("admin", "/admin/users"),
    ],
)
def test_the_home_page_sends_each_role_to_a_page_it_may_use(
    client: FlaskClient, as_role: Callable[[str], User | None], role: str, landing: str
) -> None:
    as_role(role)
    response = client.get("/")
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200
