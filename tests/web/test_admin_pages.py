"""Administration pages: users, roles, teams, disabling, passwords and second factors.

Each change is audited, ends the sessions it must end, keeps what the administrator typed
when refused, and needs a recent password entry where it is sensitive (security checks 18
and 20).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import Team, User
from incidents.models.user import UserSession
from incidents.models.vocabularies import Role
from incidents.services import two_factor
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import count_events
from tests.web.conftest import World

NEW_PASSWORD = "violet harbour lantern 42"


class _Inputs(HTMLParser):
    """Every <input> of a page, as attribute dictionaries."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))


def _inputs(response: TestResponse) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(response.get_data(as_text=True))
    return parser.inputs


def _value(response: TestResponse, name: str) -> str | None:
    return next((i.get("value") for i in _inputs(response) if i.get("name") == name), None)


def _checked(response: TestResponse, name: str) -> set[str]:
    return {
        str(i.get("value")) for i in _inputs(response) if i.get("name") == name and "checked" in i
    }


def _log_in(client: FlaskClient, user: User, password: str = DEFAULT_PASSWORD) -> TestResponse:
    return client.post(
        "/login",
        data={
            "email": user.email,
            "password": password,
            "csrf_token": csrf_token(client, "/login"),
        },
    )


def _reload(db_session: Session, user: User) -> User:
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    assert fresh is not None
    return fresh


def _logged_in_elsewhere(app: Flask, user: User) -> FlaskClient:
    """A second browser in which `user` is logged in and can see a page."""
    other = app.test_client()
    assert _log_in(other, user).status_code == 302
    assert other.get("/account").status_code == 200
    return other


def _sent_to_login(client: FlaskClient) -> bool:
    response = client.get("/account")
    return response.status_code == 302 and response.location.startswith("/login")


@pytest.fixture
def admin(signed_in: Callable[[str], User]) -> User:
    return signed_in(Role.ADMIN.value)


@pytest.fixture
def target(world: World) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[world.team])


def _user_page(target: User) -> str:
    return f"/admin/users/{target.id}"


# -- creating users ---------------------------------------------------------------------


def test_admin_creates_a_user_with_roles_and_teams_and_it_is_audited(
    client: FlaskClient, db_session: Session, world: World, admin: User
) -> None:
    page = client.get("/admin/users/new")
    assert page.status_code == 200
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "email": " New.Person@Example.org ",
            "display_name": "New Person",
            "password": NEW_PASSWORD,
            "roles": ["researcher", "auditor"],
            "teams": [world.team.slug],
        },
    )
    assert response.status_code == 302
    user = db_session.scalars(select(User).where(User.email == "new.person@example.org")).one()
    assert response.location == f"/admin/users/{user.id}"
    assert user.role_set == {Role.RESEARCHER, Role.AUDITOR}
    assert user.team_ids == {world.team.id}
    assert count_events(db_session, "user.create", user) == 1
    shown = client.get(response.location).get_data(as_text=True)
    assert "Created the account new.person@example.org" in shown
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "new.person@example.org" in listing and world.team.name in listing
    assert _log_in(client.application.test_client(), user, NEW_PASSWORD).status_code == 302


def test_bad_input_keeps_every_value_but_the_password_and_creates_nothing(
    client: FlaskClient, db_session: Session, world: World, admin: User
) -> None:
    users_before = db_session.scalar(select(func.count()).select_from(User))
    typed = {
        "email": "kept@example.org",
        "display_name": "",
        "password": "password1234",  # a common password
        "roles": ["advocacy_lead"],
        "teams": [world.team.slug],
    }
    response = client.post(
        "/admin/users/new", data={"csrf_token": csrf_token(client, "/admin/users/new"), **typed}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _value(response, "email") == "kept@example.org"
    assert _checked(response, "roles") == {"advocacy_lead"}
    assert _checked(response, "teams") == {world.team.slug}
    assert _value(response, "password") in (None, "")
    assert "password1234" not in page
    assert "Enter a name." in page
    assert "most common passwords" in page  # the rule's own words, on the field
    assert db_session.scalar(select(func.count()).select_from(User)) == users_before
    assert count_events(db_session, "user.create") == 0


def test_a_taken_email_is_refused_on_its_field_with_the_rest_kept(
    client: FlaskClient, db_session: Session, world: World, admin: User, target: User
) -> None:
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "email": target.email.upper(),
            "display_name": "Someone Else",
            "password": NEW_PASSWORD,
            "roles": ["auditor"],
        },
    )
    assert response.status_code == 422
    assert f"A user with the e-mail {target.email} exists" in response.get_data(as_text=True)
    assert _value(response, "display_name") == "Someone Else"
    assert _checked(response, "roles") == {"auditor"}
    assert count_events(db_session, "user.create") == 0


# -- roles and teams --------------------------------------------------------------------


def test_a_role_change_ends_every_session_of_that_user_and_is_audited(
    app: Flask, client: FlaskClient, db_session: Session, world: World, admin: User, target: User
) -> None:
    elsewhere = _logged_in_elsewhere(app, target)
    response = client.post(
        _user_page(target),
        data={
            "csrf_token": csrf_token(client, _user_page(target)),
            "roles": ["auditor"],
            "teams": [world.team.slug, world.other_team.slug],
        },
    )
    assert response.status_code == 302
    assert response.location == _user_page(target)
    page = client.get(response.location).get_data(as_text=True)
    assert "Roles of" in page and "researcher → auditor" in page
    assert world.other_team.name in page
    fresh = _reload(db_session, target)
    assert fresh.role_set == {Role.AUDITOR}
    assert fresh.team_ids == {world.team.id, world.other_team.id}
    assert count_events(db_session, "user.roles_change", target) == 1
    assert count_events(db_session, "user.teams_change", target) == 1
    assert _sent_to_login(elsewhere)


def test_a_team_change_alone_keeps_the_users_sessions(
    app: Flask, client: FlaskClient, db_session: Session, world: World, admin: User, target: User
) -> None:
    elsewhere = _logged_in_elsewhere(app, target)
    response = client.post(
        _user_page(target),
        data={"csrf_token": csrf_token(client, _user_page(target)), "roles": ["researcher"]},
    )
    assert response.status_code == 302
    assert _reload(db_session, target).team_ids == set()
    assert count_events(db_session, "user.roles_change", target) == 0
    assert count_events(db_session, "user.teams_change", target) == 1
    assert elsewhere.get("/account").status_code == 200


def test_an_unknown_team_or_role_is_refused_and_changes_nothing(
    client: FlaskClient, db_session: Session, world: World, admin: User, target: User
) -> None:
    response = client.post(
        _user_page(target),
        data={
            "csrf_token": csrf_token(client, _user_page(target)),
            "roles": ["researcher", "superuser"],
            "teams": ["no-such-team"],
        },
    )
    assert response.status_code == 422
    fresh = _reload(db_session, target)
    assert fresh.role_set == {Role.RESEARCHER}
    assert fresh.team_ids == {world.team.id}


def test_the_last_administrator_cannot_lose_the_role_or_disable_themselves(
    client: FlaskClient, db_session: Session, world: World, admin: User
) -> None:
    page = _user_page(admin)
    response = client.post(
        page,
        data={"csrf_token": csrf_token(client, page), "roles": ["auditor"]},
    )
    assert response.status_code == 422
    assert "last active administrator" in response.get_data(as_text=True)
    assert _checked(response, "roles") == {"auditor"}  # what was asked for, shown again
    disable = client.post(f"{page}/disable", data={"csrf_token": csrf_token(client, page)})
    assert disable.status_code == 302
    assert "You cannot disable your own account" in client.get(page).get_data(as_text=True)
    fresh = _reload(db_session, admin)
    assert fresh.role_set == {Role.ADMIN} and fresh.is_active
    assert count_events(db_session, "user.roles_change") == 0
    assert count_events(db_session, "user.disable") == 0
    assert client.get("/admin/users").status_code == 200  # still logged in, still an admin


# -- disabling, two-factor, passwords ---------------------------------------------------


def test_disable_ends_sessions_and_blocks_login_until_enabled(
    app: Flask, client: FlaskClient, db_session: Session, admin: User, target: User
) -> None:
    elsewhere = _logged_in_elsewhere(app, target)
    page = _user_page(target)
    response = client.post(f"{page}/disable", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    assert f"Disabled {target.email}" in client.get(page).get_data(as_text=True)
    assert not _reload(db_session, target).is_active
    assert count_events(db_session, "user.disable", target) == 1
    assert _sent_to_login(elsewhere)
    assert _log_in(app.test_client(), target).status_code == 401
    enabled = client.post(f"{page}/enable", data={"csrf_token": csrf_token(client, page)})
    assert enabled.status_code == 302
    assert count_events(db_session, "user.enable", target) == 1
    assert _log_in(app.test_client(), target).status_code == 302


def test_reset_two_factor_removes_it_and_ends_sessions(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    context_for: Callable[..., Context],
    admin: User,
    target: User,
) -> None:
    secret = two_factor.new_secret()
    codes = two_factor.enable(context_for(target), secret, pyotp.TOTP(secret).now())
    elsewhere = app.test_client()
    assert _log_in(elsewhere, target).location.startswith("/login/verify")
    verified = elsewhere.post(
        "/login/verify",
        data={"code": codes[0], "csrf_token": csrf_token(elsewhere, "/login/verify")},
    )
    assert verified.status_code == 302
    assert elsewhere.get("/account").status_code == 200
    page = _user_page(target)
    assert "Reset two-factor" in client.get(page).get_data(as_text=True)
    response = client.post(
        f"{page}/two-factor/reset", data={"csrf_token": csrf_token(client, page)}
    )
    assert response.status_code == 302
    assert "Removed the second factor" in client.get(page).get_data(as_text=True)
    fresh = _reload(db_session, target)
    assert not fresh.has_two_factor and fresh.totp_secret is None
    assert fresh.recovery_codes == []
    assert count_events(db_session, "user.two_factor_reset", target) == 1
    assert _sent_to_login(elsewhere)
    again = _log_in(app.test_client(), target)
    assert again.status_code == 302 and not again.location.startswith("/login")  # password only


def test_set_password_checks_the_rules_then_ends_sessions(
    app: Flask, client: FlaskClient, db_session: Session, admin: User, target: User
) -> None:
    elsewhere = _logged_in_elsewhere(app, target)
    page = _user_page(target)
    url = f"{page}/password"
    differ = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, page),
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD + "x",
        },
    )
    assert differ.status_code == 422
    assert "The two entries differ: type the password twice." in differ.get_data(as_text=True)
    short = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, page),
            "password": "short",
            "confirm_password": "short",
        },
    )
    assert short.status_code == 422
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    assert count_events(db_session, "user.password_change", target) == 0
    assert elsewhere.get("/account").status_code == 200
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, page),
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert count_events(db_session, "user.password_change", target) == 1
    assert _sent_to_login(elsewhere)
    assert _log_in(app.test_client(), target).status_code == 401
    assert _log_in(app.test_client(), target, NEW_PASSWORD).status_code == 302


def test_an_admin_changing_their_own_password_stays_logged_in_here(
    client: FlaskClient, db_session: Session, admin: User
) -> None:
    page = _user_page(admin)
    response = client.post(
        f"{page}/password",
        data={
            "csrf_token": csrf_token(client, page),
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert client.get(page).status_code == 200
    assert count_events(db_session, "user.password_change", admin) == 1


# -- re-authentication ------------------------------------------------------------------


def test_sensitive_pages_and_actions_need_a_recent_password_entry(
    client: FlaskClient, db_session: Session, admin: User, target: User
) -> None:
    page = _user_page(target)
    token = csrf_token(client, page)
    db_session.execute(
        update(UserSession)
        .where(UserSession.user_id == admin.id)
        .values(confirmed_at=utcnow() - timedelta(hours=2))
    )
    db_session.flush()
    shown = client.get(page)
    assert shown.status_code == 302
    assert shown.location.startswith("/reauthenticate?next=")
    assert str(target.id) in shown.location
    for action in ("disable", "two-factor/reset"):
        refused = client.post(f"{page}/{action}", data={"csrf_token": token})
        assert refused.status_code == 302
        assert refused.location.startswith("/reauthenticate")
    changed = client.post(page, data={"csrf_token": token, "roles": ["auditor"]})
    assert changed.location.startswith("/reauthenticate")
    fresh = _reload(db_session, target)
    assert fresh.is_active and fresh.role_set == {Role.RESEARCHER}
    assert count_events(db_session, "user.disable") == 0
    assert count_events(db_session, "user.roles_change") == 0
    assert client.get("/admin/users").status_code == 200  # lists need no confirmation
    confirmed = client.post(
        shown.location,
        data={"password": DEFAULT_PASSWORD, "csrf_token": csrf_token(client, shown.location)},
    )
    assert confirmed.status_code == 302 and confirmed.location == page
    assert client.get(page).status_code == 200


# -- teams ------------------------------------------------------------------------------


def test_teams_are_created_listed_and_show_their_members(
    client: FlaskClient, db_session: Session, world: World, admin: User, target: User
) -> None:
    response = client.post(
        "/admin/teams/new",
        data={
            "csrf_token": csrf_token(client, "/admin/teams/new"),
            "slug": "south-caucasus",
            "name": "South Caucasus",
        },
    )
    assert response.status_code == 302
    assert response.location == "/admin/teams/south-caucasus"
    team = db_session.scalars(select(Team).where(Team.slug == "south-caucasus")).one()
    assert count_events(db_session, "team.create", team) == 1
    again = client.post(
        "/admin/teams/new",
        data={
            "csrf_token": csrf_token(client, "/admin/teams/new"),
            "slug": "south-caucasus",
            "name": "Another name",
        },
    )
    assert again.status_code == 422
    assert _value(again, "name") == "Another name"
    assert "exists" in again.get_data(as_text=True)
    listing = client.get("/admin/teams").get_data(as_text=True)
    members = re.search(rf"{re.escape(world.team.slug)}</code></td>\s*<td[^>]*>(\d+)</td>", listing)
    assert members is not None and int(members.group(1)) == 4  # three roles' users + target
    detail = client.get(f"/admin/teams/{world.team.slug}").get_data(as_text=True)
    assert f'href="/admin/users/{target.id}"' in detail
    assert world.users[Role.ADMIN.value].email not in detail.split("<main", 1)[1]
    assert client.get("/admin/teams/no-such-team").status_code == 404


def test_unknown_or_malformed_user_ids_answer_404(client: FlaskClient, admin: User) -> None:
    assert client.get(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert client.get("/admin/users/not-a-uuid").status_code == 404
    assert client.get("/admin/users/1").status_code == 404


def test_the_admin_pages_show_no_case_data(
    client: FlaskClient, world: World, admin: User, target: User
) -> None:
    for path in (
        "/admin/users",
        _user_page(target),
        "/admin/teams",
        f"/admin/teams/{world.team.slug}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "CANARY" not in page and world.incident.reference not in page, path


# -- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead", "auditor"])
def test_other_roles_get_403_on_every_admin_route(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    target: User,
    as_role: Callable[[str], User | None],
    role: str,
) -> None:
    as_role(role)
    token = csrf_token(client, "/account")
    adapter = app.url_map.bind("localhost")
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]
    assert len(rules) >= 10
    for rule in rules:
        values = {"user_id": target.id, "slug": world.team.slug}
        url = adapter.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, f"{method} {url} as {role}"
    fresh = _reload(db_session, target)
    assert fresh.is_active and fresh.role_set == {Role.RESEARCHER}
