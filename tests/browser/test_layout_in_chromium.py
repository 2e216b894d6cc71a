"""Layouts that only a browser can judge: the audit log at desktop width, the incident
page's "On this page" on a phone, two-factor enrolment on a phone — in Chromium."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from incidents.extensions import db
from incidents.models.vocabularies import Role
from incidents.services import accounts
from tests import helpers
from tests.browser.conftest import LiveDemo, open_as
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# How many lines each element's text takes, from the boxes its text lays out in.
LINES_OF = """els => els.map(el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set(Array.from(range.getClientRects(), r => Math.round(r.top))).size;
})"""


def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1)


def test_the_audit_log_is_readable_at_desktop_width(browser: Any, live_demo: LiveDemo) -> None:
    page, problems = open_as(browser, live_demo, "auditor", DESKTOP)
    page.goto(f"{live_demo.url}/audit")
    table = page.locator("table.events")
    box = table.bounding_box()
    assert box is not None and box["width"] > 1100, box
    assert _fits_the_screen(page)
    cells = page.locator("table.events td, table.events th").all_inner_texts()
    assert cells and not [c for c in cells if "None" in c.split()], "Python's None in a cell"
    rows = table.locator("tbody tr").count()
    assert rows >= 20
    assert box["height"] / rows < 110, "rows are a line or two high, not a column of letters"
    # Only the detail column wraps at this width: when, who and action take one line each.
    for column in ("events__when", "events__who", "events__action"):
        lines = page.locator(f"td.{column}").evaluate_all(LINES_OF)
        assert set(lines) == {1}, (column, lines)
    # The filters are one row above the events, and the first events are on the first screen.
    filters = page.get_by_role("search", name="Filter the audit log").bounding_box()
    assert filters is not None and filters["height"] < 160, filters
    assert box["y"] < 700
    assert problems == [], problems
    page.context.close()


def test_the_audit_log_on_a_phone_keeps_its_filters_short(
    browser: Any, live_demo: LiveDemo
) -> None:
    page, problems = open_as(browser, live_demo, "auditor", PHONE)
    page.goto(f"{live_demo.url}/audit")
    filters = page.get_by_role("search", name="Filter the audit log").bounding_box()
    assert filters is not None and filters["height"] < 420, filters
    assert _fits_the_screen(page)
    assert "None" not in page.locator("table.events").inner_text().split()
    assert problems == [], problems
    page.context.close()


def test_the_incident_page_has_in_page_navigation_on_a_phone(
    browser: Any, live_demo: LiveDemo
) -> None:
    page, problems = open_as(browser, live_demo, "researcher", PHONE)
    page.goto(f"{live_demo.url}/incidents/INC-2017-0001")
    nav = page.get_by_role("navigation", name="On this page")
    box = nav.bounding_box()
    assert box is not None and box["y"] < PHONE["height"], "on the first screen"
    links = nav.get_by_role("link")
    assert links.count() >= 5
    for index in range(links.count()):
        target = links.nth(index).get_attribute("href") or ""
        assert target.startswith("#") and page.locator(target).count() == 1, target
        link_box = links.nth(index).bounding_box()
        assert link_box is not None and link_box["height"] >= 24, "a target a thumb can hit"
    nav.get_by_role("link", name="Advocacy actions").click()
    heading = page.locator("#actions-heading").bounding_box()
    assert heading is not None and 0 <= heading["y"] < 100, heading
    assert _fits_the_screen(page)
    assert problems == [], problems
    page.context.close()


def _new_researcher(live: LiveDemo) -> str:
    email = f"phone-{time.time_ns()}@example.org"
    with live.app.app_context():
        ctx = helpers.context(db.session, live.app)
        team = accounts.all_teams(ctx)[0]
        accounts.create_user(
            ctx, email, "Phone Researcher", DEFAULT_PASSWORD, [Role.RESEARCHER], [team]
        )
        db.session.commit()
    return email


def test_two_factor_enrolment_on_a_phone_never_breaks_a_group(
    browser: Any, live_demo: LiveDemo
) -> None:
    email = _new_researcher(live_demo)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_demo.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.url.endswith("/account/two-factor"), page.url

    link = page.get_by_role("link", name="Open in the authenticator app")
    uri = link.get_attribute("href") or ""
    assert uri.startswith("otpauth://totp/")
    key = page.locator("code.secret-key")
    groups = key.inner_text().split(" ")
    assert pyotp.parse_uri(uri).secret == "".join(groups)
    # The key is wider than the phone, so it wraps — between groups, never inside one.
    group_lines = key.evaluate(
        """el => {
          const text = el.firstChild, lines = [];
          let start = 0;
          for (const group of text.data.split(" ")) {
            const range = document.createRange();
            range.setStart(text, start);
            range.setEnd(text, start + group.length);
            lines.push(new Set(Array.from(range.getClientRects(), r => Math.round(r.top))).size);
            start += group.length + 1;
          }
          return lines;
        }"""
    )
    assert set(group_lines) == {1}, group_lines
    assert key.evaluate_all(LINES_OF)[0] >= 2, "the test would prove nothing on one line"
    assert _fits_the_screen(page)

    page.get_by_label("Six-digit code").fill(pyotp.parse_uri(uri).now())
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_load_state()
    codes = page.locator(".recovery-codes code")
    assert codes.count() == 10
    assert set(codes.evaluate_all(LINES_OF)) == {1}, "a recovery code never wraps"
    for box in (codes.nth(i).bounding_box() for i in range(codes.count())):
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert _fits_the_screen(page)
    context.close()
