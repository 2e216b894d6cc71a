"""Evidence in a real browser, from the demo: the demo researcher downloads the demo's file,
and a refused upload is said where the eye is — at the top of the page, on a laptop and on
a phone — with a link down to the form."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from incidents.services import demo
from tests import samples
from tests.browser.conftest import LiveDemo, open_as

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
[EVIDENCE] = demo.load_case()["evidence"]


def test_the_demo_researcher_downloads_the_demo_evidence(
    browser: Any, live_demo: LiveDemo, tmp_path: Path
) -> None:
    page, problems = open_as(browser, live_demo, "researcher", LAPTOP)
    page.goto(f"{live_demo.url}/incidents/INC-2017-0001")
    original = (demo.CASE_FILE.parent / EVIDENCE["file"]).read_bytes()
    assert hashlib.sha256(original).hexdigest() in page.inner_text("body")
    with page.expect_download() as started:
        page.get_by_role("link", name=EVIDENCE["filename"]).click()
    download = started.value
    assert download.suggested_filename == EVIDENCE["filename"]
    target = tmp_path / "downloaded"
    download.save_as(target)
    assert target.read_bytes() == original
    assert problems == [], problems
    page.context.close()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_refused_upload_is_said_at_the_top_of_the_page(
    browser: Any, live_demo: LiveDemo, viewport: dict[str, int]
) -> None:
    page, problems = open_as(browser, live_demo, "researcher", viewport)
    page.goto(f"{live_demo.url}/incidents/INC-2017-0001")
    form = page.locator("details.evidence-add").first
    form.locator("summary").click()
    form.locator('input[type="file"]').set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": samples.HTML_PAGE}
    )
    form.get_by_role("button", name="Add evidence").click()
    page.wait_for_load_state()

    alert = page.locator("#error-summary")
    assert "an HTML page (text/html)" in alert.inner_text()
    box = alert.bounding_box()
    assert box is not None
    # Seen without scrolling: it starts within the first screen, under the header.
    assert box["y"] < viewport["height"] / 2, box
    assert page.evaluate("window.scrollY") == 0
    # Its link leads to the file field, whose own message says the same.
    alert.get_by_role("link").click()
    field = page.locator(':focus, input[type="file"][aria-invalid="true"]').first
    assert field.is_visible()
    described = field.get_attribute("aria-describedby")
    assert described is not None
    assert "an HTML page (text/html)" in page.locator(f"#{described}").inner_text()
    refused = "the server responded with a status of 422"  # the refusal itself, as meant
    assert [p for p in problems if refused not in p] == [], problems
    page.context.close()
