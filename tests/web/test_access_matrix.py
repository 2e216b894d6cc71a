"""Every route × role × method has an expected status (SECURITY.md 10).

The route list comes from the application, so a new route without an entry here fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import User
from tests.conftest import csrf_token
from tests.factories import PersonFactory, ReportFactory, stored_evidence
from tests.web.conftest import ROLES, World

ANON, RESEARCHER, ADVOCACY, AUDITOR, ADMIN = ROLES
LOGGED_IN = (RESEARCHER, ADVOCACY, AUDITOR, ADMIN)


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _researchers_only(status: int) -> dict[str, int]:
    return {ANON: 302, RESEARCHER: status, ADVOCACY: 403, AUDITOR: 403, ADMIN: 403}


# (endpoint, method) -> role -> expected status. 302 for anonymous means "sent to login".
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("static", "GET"): _everyone(200),
    ("auth.login", "GET"): {ANON: 200, **dict.fromkeys(LOGGED_IN, 302)},
    ("auth.login", "POST"): {ANON: 401, **dict.fromkeys(LOGGED_IN, 302)},
    ("auth.logout", "POST"): _everyone(302),
    ("incidents.index", "GET"): _everyone(302),
    ("incidents.list_incidents", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 200,
        AUDITOR: 200,
        ADMIN: 403,
    },
    ("incidents.show_incident", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 200,
        AUDITOR: 200,
        ADMIN: 404,  # not in the team: the record does not exist for them
    },
    # People pages are for researchers only in this release; POSTs without a name are 400.
    ("people.search", "GET"): _researchers_only(200),
    ("people.search", "POST"): _researchers_only(400),
    ("people.new_person", "GET"): _researchers_only(200),
    ("people.new_person", "POST"): _researchers_only(400),
    ("people.show_person", "GET"): _researchers_only(200),
    # Evidence: researchers of the team; an upload without a file is shown again (422).
    ("evidence.upload", "POST"): {
        ANON: 302,
        RESEARCHER: 422,
        ADVOCACY: 403,
        AUDITOR: 403,
        ADMIN: 404,
    },
    ("evidence.download", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 403,
        AUDITOR: 403,
        ADMIN: 404,
    },
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_route_has_an_entry(app: Flask) -> None:
    routes = _routes(app)
    assert routes - MATRIX.keys() == set(), "routes without an access-matrix entry"
    assert MATRIX.keys() - routes == set(), "matrix entries for routes that no longer exist"


def _evidence_url(endpoint: str, world: World, client: FlaskClient) -> str | None:
    """Evidence routes need a report of the world's incident, with a real stored file."""
    if not endpoint.startswith("evidence."):
        return None
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    if endpoint == "evidence.upload":
        return f"/reports/{report.reference}/evidence"
    # The file goes when the test's transaction is rolled back (incidents.storage.lifecycle).
    evidence = stored_evidence(client.application.extensions["incidents.evidence_store"], report)
    return f"/evidence/{evidence.id}/download"


def _url(endpoint: str, world: World) -> str:
    if endpoint == "people.show_person":
        return f"/people/{PersonFactory(team_id=world.team.id).reference}"
    return {
        "static": "/static/app.css",
        "auth.login": "/login",
        "auth.logout": "/logout",
        "incidents.index": "/",
        "incidents.list_incidents": "/incidents",
        "incidents.show_incident": f"/incidents/{world.incident.reference}",
        "people.search": "/people",
        "people.new_person": "/people/new",
    }[endpoint]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), sorted(MATRIX))
def test_access(
    endpoint: str,
    method: str,
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
) -> None:
    as_role(role)
    url = _evidence_url(endpoint, world, client) or _url(endpoint, world)
    data = None
    if method == "POST":
        # A valid CSRF token, so the status shows the access rule and not the CSRF check.
        # (Every logged-in page, the admin's 403 included, carries the logout form's token.)
        data = {"csrf_token": csrf_token(client, "/login" if role == ANON else "/incidents")}
        data |= {"email": "nobody@example.org", "password": "wrong password!"}
    response = client.open(url, method=method, data=data)
    response.close()  # a static file is streamed; close it rather than leak the handle
    assert response.status_code == MATRIX[(endpoint, method)][role], f"{method} {url} as {role}"
