"""Duress login: a second password that opens a workspace without a single case record.

Logging in with it, through the real form and real Argon2 hashes: the user's other
sessions end, no page the session reaches shows case data (the canary crawl of security
check 12, as that session), the audit log has the alert and administrators see it, and
the real password fails as a wrong one does until an administrator unlocks the account.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import User
from incidents.services import api_tokens, authentication, duress, passwords, two_factor
from incidents.web.auth.views import FAILED_LOGIN
from incidents.web.throttling import PENDING_LOGIN_KEY
from tests import factories
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import count_events
from tests.security.conftest import enter, is_logged_in, log_in, token
from tests.security.test_12_canary_crawl import Planted, crawl, planted  # noqa: F401
from tests.web.conftest import World

DURESS_PASSWORD = "orange umbrella quietly sings"
NAVIGATION = re.compile(r'<nav class="site-nav".*?</nav>', re.DOTALL)


@pytest.fixture
def researcher(world: World, context_for: Callable[..., Context]) -> User:
    """The world's researcher, with a duress password set through the service."""
    user = world.users["researcher"]
    duress.set_duress_password(context_for(user), DURESS_PASSWORD)
    return user


def _duress_login(client: FlaskClient, user: User) -> None:
    response = log_in(client, user.email, DURESS_PASSWORD)
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == "/", "a duress login answers as any login"


def _named(client: FlaskClient, path: str, references: list[str]) -> set[str]:
    response = client.get(path)
    body = response.get_data(as_text=True)
    response.close()
    return {reference for reference in references if reference in body}


def _navigation(client: FlaskClient) -> str:
    found = NAVIGATION.search(client.get("/incidents").get_data(as_text=True))
    assert found, "no navigation on the incident list"
    return found.group(0)


def test_a_duress_session_shows_no_case_record_on_any_page(
    client: FlaskClient,
    planted: Planted,  # noqa: F811 (the canary crawl's fixture)
    researcher: User,
    db_session: Session,
) -> None:
    normal = enter(client.application.test_client(), db_session, researcher)
    expected_navigation = _navigation(normal)
    _duress_login(client, researcher)
    result = crawl(client, planted)
    assert result.seen == {}, f"case data seen in a duress session: {result.seen}"
    assert result.visited["/incidents"] == 200
    for seed in planted.seeds:  # the canary records' own pages: as if they did not exist
        assert result.visited[seed] == 404, (seed, result.visited[seed])
    assert not [path for path, status in result.visited.items() if status >= 500]
    assert len(result.by_links) > 10, f"the crawl saw too little: {sorted(result.by_links)}"
    # Nor a reference of a record beyond what a researcher of no team sees (the examples
    # in the forms' hints).
    references = [
        record.reference for record in planted.records.values() if hasattr(record, "reference")
    ]
    teamless = enter(client.application.test_client(), db_session, UserFactory(teams=[]))
    for path, status in result.visited.items():
        if status == 200 and not path.startswith("/static/"):
            shown = _named(client, path, references) - _named(teamless, path, references)
            assert not shown, f"{path} names {shown} in a duress session"
    # The layout is that of the account's ordinary session: the same links, in order.
    assert _navigation(client) == expected_navigation


def test_a_duress_login_ends_other_sessions_alerts_and_locks_the_password(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    elsewhere = enter(client.application.test_client(), db_session, researcher)
    admin = enter(client.application.test_client(), db_session, world.users["admin"])
    assert "Duress logins" not in admin.get("/admin/users").get_data(as_text=True)
    _duress_login(client, researcher)
    assert not is_logged_in(elsewhere), "the user's other session survived the duress login"
    assert is_logged_in(client)
    assert count_events(db_session, AuditAction.ACCOUNT_DURESS_LOGIN, researcher) == 1
    assert count_events(db_session, AuditAction.LOGIN_SUCCESS, researcher) == 0

    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert "Duress logins" in users_page and researcher.email in users_page
    detail = admin.get(f"/admin/users/{researcher.id}").get_data(as_text=True)
    assert "password locked" in detail and "Unlock the password" in detail

    # The real password now fails exactly as a wrong one does; the duress one still works.
    stranger = client.application.test_client()
    refused = log_in(stranger, researcher.email, DEFAULT_PASSWORD)
    wrong = log_in(stranger, researcher.email, "not the password at all 123")
    assert refused.status_code == wrong.status_code == 401
    assert FAILED_LOGIN in refused.get_data(as_text=True)
    assert log_in(stranger, researcher.email, DURESS_PASSWORD).status_code == 302


def test_an_administrator_unlocks_the_password(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    _duress_login(client, researcher)
    admin = enter(client.application.test_client(), db_session, world.users["admin"])
    response = admin.post(
        f"/admin/users/{researcher.id}/unlock",
        data={"csrf_token": token(admin, f"/admin/users/{researcher.id}")},
    )
    assert response.status_code == 302
    assert count_events(db_session, AuditAction.ACCOUNT_UNLOCK, researcher) == 1
    assert "Duress logins" not in admin.get("/admin/users").get_data(as_text=True)
    fresh = client.application.test_client()
    assert log_in(fresh, researcher.email, DEFAULT_PASSWORD).status_code == 302
    assert world.incident.reference in fresh.get("/incidents").get_data(as_text=True)


def test_unlocking_is_for_administrators(
    client: FlaskClient, researcher: User, world: World, db_session: Session
) -> None:
    _duress_login(client, researcher)
    auditor = enter(client.application.test_client(), db_session, world.users["auditor"])
    response = auditor.post(
        f"/admin/users/{researcher.id}/unlock", data={"csrf_token": token(auditor, "/account")}
    )
    assert response.status_code == 403
    refused = log_in(client.application.test_client(), researcher.email, DEFAULT_PASSWORD)
    assert refused.status_code == 401, "the password was unlocked by someone else"


def test_a_duress_session_changes_no_credential_and_shows_no_token(
    client: FlaskClient, researcher: User, db_session: Session
) -> None:
    api_tokens.create(factories.context(), researcher, "field laptop sync", ["cases:read"])
    real_hash, duress_hash = researcher.password_hash, researcher.duress_password_hash
    _duress_login(client, researcher)
    account = client.get("/account").get_data(as_text=True)
    assert "field laptop sync" not in account
    assert "Not set." in account, "the account page says a duress password is set"
    csrf = token(client, "/account")
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": DURESS_PASSWORD,
            "new_password": "another strong passphrase 77",
            "confirm_password": "another strong passphrase 77",
        },
    )
    assert changed.status_code == 401
    replaced = client.post(
        "/account/duress-password",
        data={
            "csrf_token": csrf,
            "duress_password": "another strong passphrase 77",
            "confirm_password": "another strong passphrase 77",
        },
    )
    assert replaced.status_code == 422
    removed = client.post("/account/duress-password/remove", data={"csrf_token": csrf})
    assert removed.status_code == 302
    made = client.post(
        "/account/api-tokens/new",
        data={"csrf_token": csrf, "name": "x", "scopes": "cases:read", "expires_in_days": "7"},
    )
    assert made.status_code == 422
    db_session.refresh(researcher)
    assert (researcher.password_hash, researcher.duress_password_hash) == (real_hash, duress_hash)
    assert len(api_tokens.list_tokens(factories.context(), researcher)) == 1
    # Confirming the password again takes the one this session was opened with.
    confirmed = client.post(
        "/reauthenticate", data={"csrf_token": csrf, "password": DURESS_PASSWORD}
    )
    assert confirmed.status_code == 302


def test_with_a_second_factor_the_duress_login_asks_for_it_as_usual(
    client: FlaskClient,
    world: World,
    researcher: User,
    db_session: Session,
    context_for: Callable[..., Context],
) -> None:
    secret = two_factor.new_secret()
    codes = two_factor.enable(context_for(researcher), secret, pyotp.TOTP(secret).now())
    db_session.flush()
    response = log_in(client, researcher.email, DURESS_PASSWORD)
    assert (response.status_code, response.headers["Location"]) == (302, "/login/verify")
    assert not is_logged_in(client)
    verified = client.post(
        "/login/verify", data={"code": codes[0], "csrf_token": token(client, "/login/verify")}
    )
    assert verified.status_code == 302
    assert count_events(db_session, AuditAction.ACCOUNT_DURESS_LOGIN, researcher) == 1
    page = client.get("/incidents").get_data(as_text=True)
    assert world.incident.reference not in page
    # The pending step in the cookie said nothing readable of which password it was.
    fresh = client.application.test_client()
    log_in(fresh, researcher.email, DURESS_PASSWORD)
    with fresh.session_transaction() as cookie:
        held = cookie[PENDING_LOGIN_KEY]
    assert "duress" not in str(held).lower()
    assert held["proof"] not in (researcher.password_hash, researcher.duress_password_hash)


def test_the_duress_password_must_differ_from_the_password_and_follow_the_rules(
    world: World, context_for: Callable[..., Context]
) -> None:
    user = world.users["advocacy_lead"]
    ctx = context_for(user)
    with pytest.raises(ValidationError) as same:
        duress.set_duress_password(ctx, DEFAULT_PASSWORD)
    assert same.value.errors == {"duress_password": duress.SAME_AS_PASSWORD}
    with pytest.raises(ValidationError) as weak:
        duress.set_duress_password(ctx, "password123")
    assert "duress_password" in weak.value.errors
    duress.set_duress_password(ctx, DURESS_PASSWORD)
    assert (user.duress_password_hash or "").startswith("$argon2id$")
    assert user.duress_password_hash != user.password_hash


@pytest.mark.parametrize("who", ["with a duress password", "without one", "no such account"])
def test_every_login_checks_two_hashes_so_time_tells_nothing(
    who: str,
    researcher: User,
    world: World,
    context_for: Callable[..., Context],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email = {
        "with a duress password": researcher.email,
        "without one": world.users["auditor"].email,
        "no such account": "nobody@example.org",
    }[who]
    checked: list[str | None] = []
    verify = passwords.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    assert authentication.check_login(context_for(None), email, "a wrong password 42") is None
    assert len(checked) == 2
