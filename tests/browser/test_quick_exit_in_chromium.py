"""Quick exit as a person under threat uses it: Escape twice, in Chromium with the strict
CSP, ends the session and replaces the page so that Back does not return to it; the
header's button does the same without JavaScript."""

from __future__ import annotations

import time
from typing import Any

import pytest

from incidents.extensions import db
from incidents.models.vocabularies import Role
from incidents.services import accounts
from tests import helpers
from tests.browser.conftest import LiveDemo
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}


def _own_account(live: LiveDemo) -> str:
    """An account of this test's own (an exit ends every session of its user), exempt
    from the second factor like the demo's."""
    email = f"exit-{time.time_ns()}@example.org"
    with live.app.app_context():
        ctx = helpers.context(db.session, live.app)
        team = accounts.all_teams(ctx)[0]
        user = accounts.create_user(
            ctx, email, "Quick Leaver", DEFAULT_PASSWORD, [Role.RESEARCHER], [team]
        )
        user.two_factor_exempt = True
        db.session.commit()
    return email


def _logged_in_page(browser: Any, live: LiveDemo, javascript: bool = True) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=LAPTOP, java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live.url}/login")
    page.get_by_label("E-mail").fill(_own_account(live))
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(f"{live.url}/incidents")
    page.goto(f"{live.url}/account")
    assert page.url == f"{live.url}/account"
    return page, problems


def _session_has_ended(page: Any, live: LiveDemo) -> bool:
    page.goto(f"{live.url}/account")
    return page.url.startswith(f"{live.url}/login")


def test_escape_twice_leaves_ends_the_session_and_back_does_not_return(
    browser: Any, live_demo: LiveDemo
) -> None:
    page, problems = _logged_in_page(browser, live_demo)
    page.keyboard.press("Escape")
    page.wait_for_timeout(1300)  # too slow for a second press to count
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == f"{live_demo.url}/account", "two presses a second apart left the page"

    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_demo.url}/weather")
    assert page.title() == "Weather"
    assert "Incidents" not in page.content()
    page.go_back()
    page.wait_for_load_state()
    # The page left was replaced: Back goes to the one before it (its session over, it
    # asks for a login to show the incident list), never to the page left.
    assert "account" not in page.url, f"Back returned to the page left: {page.url}"
    assert "incidents" in page.url, page.url
    assert _session_has_ended(page, live_demo)
    assert problems == [], problems
    page.context.close()


def test_the_button_leaves_without_javascript(browser: Any, live_demo: LiveDemo) -> None:
    page, problems = _logged_in_page(browser, live_demo, javascript=False)
    page.get_by_role("button", name="Quick exit").click()
    page.wait_for_url(f"{live_demo.url}/weather")
    assert page.title() == "Weather"
    assert _session_has_ended(page, live_demo)
    assert problems == [], problems
    page.context.close()
