"""Security check 17: every page a logged-in user gets says Cache-Control: no-store, so nothing
a case worker saw stays in a shared browser's cache.

The pages are every GET route of the application (the access matrix has them all), as
every role, whatever the answer; static files are the one exception.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from tests.security.conftest import enter
from tests.web.conftest import ROLES, World
from tests.web.test_access_matrix import MATRIX, _evidence_url, _url

PAGES = sorted(endpoint for endpoint, method in MATRIX if method == "GET" and endpoint != "static")


def test_17_every_authenticated_page_is_no_store(
    app: Flask, world: World, db_session: Session
) -> None:
    problems = []
    shown = 0
    urls: dict[str, str] = {}  # one record per page, shown to every role: a GET changes nothing
    for role in ROLES[1:]:
        client = enter(app.test_client(), db_session, world.users[role])
        for endpoint in PAGES:
            if endpoint not in urls:
                urls[endpoint] = _evidence_url(endpoint, world, client) or _url(endpoint, world)
            url = urls[endpoint]
            response = client.get(url)
            response.close()
            if MATRIX[(endpoint, "GET")][role] != response.status_code:
                problems.append(f"{url} as {role}: {response.status_code}, not as in the matrix")
            shown += response.status_code == 200
            if "no-store" not in response.headers.get("Cache-Control", ""):
                problems.append(f"{url} as {role} ({response.status_code}): may be cached")
            if response.headers.get("Pragma") != "no-cache":
                problems.append(f"{url} as {role}: no Pragma: no-cache for HTTP/1.0 caches")
    assert problems == []
    assert shown >= len(ROLES[1:]), "hardly any page was shown: the check saw too little"


def test_17_static_files_may_be_cached(app: Flask) -> None:
    response = app.test_client().get("/static/app.css")
    response.close()
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
