"""Security check 20: sensitive operations need a recent re-authentication.

The operations are found in the application: every view behind @recent_login_required
(a view function's wrapper chain is followed through __wrapped__). When the password was
last entered more than reauth_minutes ago, a GET is sent to /reauthenticate and back, and
a POST is refused the same way and changes nothing; after entering the password again,
both work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.db import utcnow
from incidents.web.security import recent_login_required
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import settings_of
from tests.security.conftest import enter, open_sessions, snapshot, token
from tests.web.conftest import World
from tests.web.test_access_matrix import MATRIX, _url

_WRAPPER = recent_login_required(lambda: None).__code__  # the same code for every view
# What must ask for the password again wherever it appears (README "Re-authentication").
SENSITIVE = {
    "account.two_factor_setup",  # a new second factor
    "account.new_recovery_codes",
    "admin.user_detail",  # roles and teams
    "admin.reset_two_factor",
    "admin.disable_user",
    "admin.enable_user",
    "admin.set_password",
    "admin.installation_auditor",  # the whole audit log
    "erasure.erase",
    "reviews.decide",  # erasing (or keeping) a record whose consent to keep was withdrawn
}
ALWAYS_PRESENT = {"account.two_factor_setup", "account.new_recovery_codes"}


def needs_recent_login(view: Callable[..., Any] | None) -> bool:
    while view is not None:
        if getattr(view, "__code__", None) is _WRAPPER:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def _protected(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if needs_recent_login(app.view_functions[rule.endpoint])
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


def test_20_every_sensitive_operation_asks_for_the_password_again(app: Flask) -> None:
    assert app.view_functions.keys() >= ALWAYS_PRESENT
    present = SENSITIVE & app.view_functions.keys()
    unprotected = {e for e in present if not needs_recent_login(app.view_functions[e])}
    assert unprotected == set(), "sensitive operations without @recent_login_required"
    # The detection itself: an ordinary page is not taken for a protected one.
    assert not needs_recent_login(app.view_functions["incidents.list_incidents"])


def _role_for(endpoint: str, method: str) -> str:
    """Administration is the admin's; the rest (account, records) a researcher's."""
    role = "admin" if endpoint.startswith("admin.") else "researcher"
    assert MATRIX[(endpoint, method)][role] not in (403, 404), f"{role} may not {endpoint}"
    return role


def _send(client: FlaskClient, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    # A button's form names its page in `back` (the Referer is not relied on).
    return client.post(url, data={"csrf_token": token(client, "/account"), "back": url})


def _to_reauthentication(response: Any) -> str | None:
    """The page to come back to, when `response` sends the browser to re-authenticate."""
    if response.status_code != 302:
        return None
    location = urlsplit(response.headers["Location"])
    if location.path != "/reauthenticate":
        return None
    return parse_qs(location.query).get("next", [""])[0]


def test_20_a_stale_confirmation_sends_to_reauthenticate_then_the_operation_works(
    app: Flask, world: World, db_session: Session
) -> None:
    protected = _protected(app)
    assert {e for e, _ in protected} >= ALWAYS_PRESENT
    reauth = timedelta(minutes=settings_of(app).reauth_minutes)
    for role in ("researcher", "admin"):
        mine = [(e, m) for e, m in protected if _role_for(e, m) == role]
        if not mine:
            continue
        user = world.users[role]
        client = enter(app.test_client(), db_session, user)
        (row,) = open_sessions(db_session, user)
        row.confirmed_at = utcnow() - reauth - timedelta(seconds=5)
        db_session.flush()
        requests = [(method, _url(endpoint, world)) for endpoint, method in mine]

        for method, url in requests:
            before = snapshot(db_session)
            back_to = _to_reauthentication(_send(client, method, url))
            assert back_to is not None, f"{method} {url} as {role} did not ask again"
            # Back to the page asked for, or for a form, the page it was sent from.
            assert back_to == url
            assert snapshot(db_session) == before, f"{method} {url} changed something"

        first = requests[0][1]
        response = client.post(
            f"/reauthenticate?next={first}",
            data={"password": DEFAULT_PASSWORD, "csrf_token": token(client, "/reauthenticate")},
        )
        assert (response.status_code, response.headers["Location"]) == (302, first)

        for method, url in requests:
            response = _send(client, method, url)
            assert _to_reauthentication(response) is None, f"{method} {url} after re-entry"
            assert response.status_code in (200, 302, 400, 422), f"{method} {url}"
