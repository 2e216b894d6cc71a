"""The demo as a person sees it, in a real browser, on a laptop and on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveDemo, open_as

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SECRET_SNIPPET = "FICTIONAL DEMO NARRATIVE"


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_researcher_reads_the_case_with_its_secrets(
    browser: Any, live_demo: LiveDemo, viewport: dict[str, int], tmp_path: Path
) -> None:
    page, problems = open_as(browser, live_demo, "researcher", viewport)
    assert page.url.endswith("/incidents")
    page.get_by_role("link", name="Abductions, torture and killings", exact=False).click()
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert SECRET_SNIPPET in body
    assert "Chechen Republic" in body
    assert "INC-2018-0001" not in page.content()  # another team's incident
    # Nothing wider than the screen: readable on a phone without sideways scrolling.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)
    assert problems == [], problems  # includes Content-Security-Policy violations
    page.context.close()


def test_advocacy_lead_sees_the_summary_but_no_secret(browser: Any, live_demo: LiveDemo) -> None:
    page, problems = open_as(browser, live_demo, "advocacy_lead", LAPTOP)
    page.goto(f"{live_demo.url}/incidents/INC-2017-0001")
    body = page.inner_text("body")
    assert "over 100 men" in body
    assert SECRET_SNIPPET not in page.content()
    assert "FICTIONAL" not in page.content()
    assert problems == [], problems
    page.context.close()


def test_logout_returns_to_the_login_page(browser: Any, live_demo: LiveDemo) -> None:
    page, _ = open_as(browser, live_demo, "auditor", PHONE)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert "/login" in page.url
    page.goto(f"{live_demo.url}/incidents")
    assert "/login" in page.url
    page.context.close()
