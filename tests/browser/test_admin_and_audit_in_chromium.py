"""The administrator's and the auditor's pages as people use them, on a phone, in
Chromium, under the strict CSP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import LiveDemo, open_as

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1)


def test_an_administrator_creates_a_researcher_on_a_phone(
    browser: Any, live_demo: LiveDemo
) -> None:
    page, problems = open_as(browser, live_demo, "admin", PHONE)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="New user").click()
    email = f"new-{time.time_ns()}@example.org"
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Name").fill("Zarema New")
    page.get_by_label("Initial password").fill("password")  # common: refused, nothing lost
    page.get_by_label("Researcher").check()
    page.get_by_role("button", name="Create user").click()
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert "common" in body
    assert page.get_by_label("E-mail").input_value() == email
    assert page.get_by_label("Researcher").is_checked()
    assert _fits_the_screen(page)

    page.get_by_label("Initial password").fill("seven quiet rivers under the bridge")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_load_state()
    assert email in page.inner_text("body")
    assert _fits_the_screen(page)
    page.goto(f"{live_demo.url}/incidents")  # an administrator reads no case records
    assert "Not allowed" in page.inner_text("body")
    # The refused password answered 422, which Chromium reports; anything else is a problem.
    assert [p for p in problems if "status of 422" not in p and "status of 403" not in p] == []
    page.context.close()


def test_an_auditor_filters_the_log_and_verifies_it_on_a_phone(
    browser: Any, live_demo: LiveDemo
) -> None:
    page, problems = open_as(browser, live_demo, "auditor", PHONE)
    page.get_by_role("link", name="Audit", exact=True).click()
    page.get_by_label("Action (starts with)").fill("login.")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    events = page.locator("table").inner_text()
    assert "login.success" in events
    assert "record.create" not in events
    assert _fits_the_screen(page)

    page.get_by_role("link", name="Verify the log").click()
    page.get_by_role("button", name="Verify now").click()
    page.wait_for_load_state()
    assert "The log verifies" in page.inner_text("body")
    checkpoint = page.locator("pre.secret-key").inner_text()
    assert checkpoint.count("\n") >= 3 and "—" in checkpoint
    assert _fits_the_screen(page)
    assert problems == [], problems
    page.context.close()


PAGES = {
    "researcher": [
        "/incidents",
        "/incidents/INC-2017-0001",
        "/people",
        "/people/new",
        "/account",
        "/account/password",
        "/account/two-factor",
    ],
    "advocacy_lead": ["/incidents", "/incidents/INC-2017-0001", "/account"],
    "auditor": ["/audit", "/audit/incidents/INC-2017-0001", "/audit/verify", "/account"],
    "admin": ["/admin/users", "/admin/users/new", "/admin/teams", "/admin/teams/new", "/account"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_page_of_a_role_fits_a_phone_screen(
    browser: Any, live_demo: LiveDemo, role: str
) -> None:
    page, problems = open_as(browser, live_demo, role, PHONE)
    too_wide = []
    for path in PAGES[role]:
        response = page.goto(f"{live_demo.url}{path}")
        assert response is not None and response.status == 200, path
        if not _fits_the_screen(page):
            too_wide.append(path)
    assert too_wide == []
    assert problems == [], problems
    page.context.close()
