"""Quick exit: one button in every page's header ends the session on the server and
lands on a page that says nothing of the application; page titles name no case."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.errors import ConfigurationError
from incidents.models import User
from incidents.settings import load_settings
from tests.helpers import events
from tests.security.conftest import enter, is_logged_in, token
from tests.security.test_12_canary_crawl import Planted, crawl, needles, planted  # noqa: F401
from tests.web.conftest import World

EXIT_FORM = re.compile(
    r'<form class="account__exit" method="post" action="/exit"\s+data-quick-exit '
    r'data-exit-to="([^"]+)">\s*<input type="hidden" name="csrf_token" value="[^"]+">'
)
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
REFERENCE = re.compile(r"\b[A-Z]{2,5}(?:-\d{4})?-\d{4,}\b")


def _quick_exit(client: FlaskClient) -> tuple[int, str]:
    response = client.post("/exit", data={"csrf_token": token(client, "/account")})
    return response.status_code, response.headers["Location"]


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead", "auditor", "admin"])
def test_every_page_has_the_quick_exit_in_the_same_place(
    role: str, client: FlaskClient, sign_in: Callable[[str], User | None]
) -> None:
    sign_in(role)
    for path in ("/account", "/help", "/no/such/page"):
        page = client.get(path).get_data(as_text=True)
        header = page.split('<main id="main"', 1)[0]
        found = EXIT_FORM.search(header)
        assert found, f"no quick exit in the header of {path} as {role}"
        assert found.group(1) == "/weather"
        # The first control of the account area, and the script that adds Escape twice.
        assert header.index("account__exit") < header.index("account__help")
        assert '<script src="/static/quick_exit.js" defer></script>' in page


def test_logged_out_pages_have_no_quick_exit(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "account__exit" not in page and "quick_exit.js" not in page


def test_the_quick_exit_ends_the_session_and_the_old_cookie_is_refused(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    user = world.users["researcher"]
    enter(client, db_session, user)
    elsewhere = enter(client.application.test_client(), db_session, user)
    with client.session_transaction() as cookie:
        old_cookie = dict(cookie)
    assert _quick_exit(client) == (303, "/weather")
    assert not is_logged_in(client)
    assert not is_logged_in(elsewhere), "quick exit ends every session, as logging out does"
    # The cookie as it was before the exit opens nothing: the server ended its session.
    with client.session_transaction() as cookie:
        cookie.update(old_cookie)
    assert not is_logged_in(client)
    (logout,) = events(db_session, AuditAction.LOGOUT, user)
    assert logout.detail == {"reason": "quick_exit"}


def test_the_neutral_page_names_nothing_of_the_application(client: FlaskClient) -> None:
    response = client.get("/weather?place=Springfield")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert TITLE.search(page).group(1) == "Weather"  # type: ignore[union-attr]
    for word in ("Incidents", "incident", "case", "app.css", "log in", "Log in"):
        assert word not in page, f"the neutral page says {word!r}"
    assert "no-store" in response.headers["Cache-Control"]


def test_a_quick_exit_without_a_session_still_lands_on_the_neutral_page(
    client: FlaskClient,
) -> None:
    response = client.post("/exit", data={"csrf_token": token(client, "/login")})
    assert (response.status_code, response.headers["Location"]) == (303, "/weather")


def test_the_quick_exit_goes_where_the_setting_says(
    build_app: Callable[..., Flask], world: World, db_session: Session
) -> None:
    app = build_app(quick_exit_url="https://www.example.org/forecast")
    client = enter(app.test_client(), db_session, world.users["advocacy_lead"])
    assert 'data-exit-to="https://www.example.org/forecast"' in client.get("/account").get_data(
        as_text=True
    )
    assert _quick_exit(client) == (303, "https://www.example.org/forecast")
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "//evil.example", "www.example.org", "/a b"]
)
def test_a_quick_exit_url_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="quick_exit_url"):
        load_settings({"quick_exit_url": value}, environ={})


def test_no_page_title_names_a_case(
    client: FlaskClient,
    planted: Planted,  # noqa: F811 (the canary crawl's fixture)
    sign_in: Callable[[str], User | None],
) -> None:
    """A title stays in the browser's history and tabs: every page a researcher reaches
    has one that names no record and holds no value of one."""
    sign_in("researcher")
    result = crawl(client, planted)
    assert planted.seeds[0] in result.visited
    forms = [form for value in planted.canaries.values() for form in needles(value)]
    problems = []
    for path, status in sorted(result.visited.items()):
        if path.startswith("/static/") or path.endswith("/download"):
            continue
        response = client.get(path)
        found = TITLE.search(response.get_data(as_text=True))
        response.close()
        if found is None:
            continue
        title = found.group(1)
        if REFERENCE.search(title) or any(form in title.encode() for form in forms):
            problems.append(f"{path} ({status}): {title}")
    assert problems == []


def test_a_quick_exit_whose_form_token_is_stale_still_shows_the_neutral_page(
    client: FlaskClient, world: World, db_session: Session
) -> None:
    """The page was left open past the session's end: its token no longer matches, nothing
    is done, and the browser shows the neutral page rather than an error of the application."""
    enter(client, db_session, world.users["researcher"])
    stale = token(client, "/account")
    with client.session_transaction() as cookie:
        cookie.clear()
    response = client.post("/exit", data={"csrf_token": stale})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert TITLE.search(page).group(1) == "Weather"  # type: ignore[union-attr]
    assert "Incidents" not in page
