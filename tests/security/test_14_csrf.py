"""Security check 14: every state-changing request without a valid CSRF token is refused (400)
and changes nothing.

The routes are the application's own; each is sent by a user of a role that may use it,
with every field it would need, so the token is the only thing missing.
"""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests import samples
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import count_statements
from tests.security.conftest import enter, snapshot, token
from tests.web.conftest import World
from tests.web.test_access_matrix import MATRIX, _evidence_url, _url

# The JSON API takes no CSRF token, by design: a call is authenticated by the bearer token
# in its header, which a browser never adds on its own to a request another site makes it
# send, and never by the session cookie (tests/api/test_tokens.py: a logged-in browser's
# cookie gets 401), so a forged cross-site request has nothing to act with.
BEARER_TOKEN_ONLY = "api."
STATE_CHANGING = sorted(
    key for key in MATRIX if key[1] != "GET" and not key[0].startswith(BEARER_TOKEN_ONLY)
)
# Who sends the request: the first role that the access matrix lets use the route.
PREFERENCE = ["researcher", "advocacy_lead", "auditor", "admin", "anonymous"]


def _sender(endpoint: str, method: str) -> str:
    statuses = MATRIX[(endpoint, method)]
    usable = [role for role in PREFERENCE if statuses[role] not in (302, 403, 404)]
    return usable[0] if usable else "researcher"


def _fields(world: World) -> dict[str, object]:
    """What the forms of the application ask for, filled in as a user would."""
    return {
        "email": world.users["researcher"].email,
        "password": DEFAULT_PASSWORD,
        "code": "123456",
        "current_password": DEFAULT_PASSWORD,
        "new_password": "a brand new passphrase 42",
        "confirm_password": "a brand new passphrase 42",
        "duress_password": "a brand new passphrase 42",
        "confirm_reference": world.incident.reference,
        "reason": "Asked for by the person concerned in writing.",
        "description": "A photograph.",
        "file": (io.BytesIO(samples.png()), "photo.png"),
        "display_name": "Someone New",
        "full_name": "Someone New",
        "q": "Someone",
        "team": str(world.team.id),
        "slug": "new-team",
        "name": "New team",
        "roles": "researcher",
    }


def test_14_the_checked_routes_are_the_applications(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
        if not rule.endpoint.startswith(BEARER_TOKEN_ONLY)
    }
    assert routes == set(STATE_CHANGING)
    assert routes, "no state-changing route at all"


def _reads(sql: str) -> bool:
    """Whether a statement only reads (a write, or anything else, is a change attempted)."""
    return sql.lstrip().upper().startswith(("SELECT", "PRAGMA"))


def _refusals(
    endpoint: str, method: str, client: FlaskClient, world: World, db_session: Session
) -> list[str]:
    """Send the request of `endpoint` without a valid token in every way; what went wrong."""
    role = _sender(endpoint, method)
    if role != "anonymous":
        enter(client, db_session, world.users[role])
    url = _evidence_url(endpoint, world, client) or _url(endpoint, world)
    own_token = token(client, "/login" if role == "anonymous" else "/account")
    foreign_token = token(client.application.test_client(), "/login")  # another browser's
    before = snapshot(db_session)
    problems = []
    for label, extra in (
        ("no token", {}),
        ("an empty token", {"csrf_token": ""}),
        ("a forged token", {"csrf_token": own_token[:-4] + "AAAA"}),
        ("another browser's token", {"csrf_token": foreign_token}),
    ):
        with count_statements(client.application) as statements:
            response = client.open(url, method=method, data=_fields(world) | extra)
        where = f"{method} {url} as {role} with {label}"
        if response.status_code != 400:
            problems.append(f"{where}: {response.status_code}, not 400")
        writes = [sql for sql in statements.sql if not _reads(sql)]
        if writes:
            problems.append(f"{where}: the database was written to: {writes[0][:120]}")
    # Every row of every table compared once for the four: reading them all after each
    # request was most of this test's time, and a refused request sends no write at all.
    if snapshot(db_session) != before:
        problems.append(f"{method} {url} as {role}: the database changed")
    # With the token, the same request is not refused for the token: it was what was missing.
    with count_statements(client.application) as statements:
        response = client.open(url, method=method, data=_fields(world) | {"csrf_token": own_token})
    if response.status_code == 400:
        problems.append(f"{method} {url} as {role} with a valid token: 400 all the same")
    if statements.count == 0:  # the check of writes above would have seen nothing either
        problems.append(f"{method} {url} as {role}: no statement seen for a request that acts")
    return problems


def test_14_every_state_changing_request_without_csrf_token_is_refused(
    app: Flask, world: World, db_session: Session
) -> None:
    problems = []
    for endpoint, method in STATE_CHANGING:
        problems += _refusals(endpoint, method, app.test_client(), world, db_session)
    assert problems == []


def test_over_https_a_post_must_come_from_a_page_of_this_site(
    client: FlaskClient, world: World
) -> None:
    """Over HTTPS the CSRF check also compares the Referer with this site. The pages'
    Referrer-Policy (same-origin) lets browsers send it to this site alone: with
    "no-referrer", every POST in production would be refused."""
    secure = "https://localhost"
    page = client.get("/login", base_url=secure)
    assert page.headers["Referrer-Policy"] == "same-origin"
    data = {
        "csrf_token": token(client, "/login"),
        "email": world.users["researcher"].email,
        "password": "not the password",
    }
    without = client.post("/login", data=data, base_url=secure)
    assert without.status_code == 400  # no Referer: not known to come from this site
    elsewhere = client.post(
        "/login", data=data, base_url=secure, headers={"Referer": "https://evil.example/"}
    )
    assert elsewhere.status_code == 400
    here = client.post("/login", data=data, base_url=secure, headers={"Referer": f"{secure}/login"})
    assert here.status_code == 401  # past the CSRF check: refused for the password
