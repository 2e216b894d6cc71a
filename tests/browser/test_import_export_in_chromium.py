"""The account's API tokens, the Import and Export pages and the API reference, walked in
Chromium as a newcomer does, at desktop and at phone width: a token made (after the
password again), shown once, used and revoked; a CSV made from the page's template,
checked, imported, and one with a bad row refused whole; an internal and a full export
downloaded; what an advocacy lead is offered; and on every page, that it fits the screen,
says nothing wrong in the console, labels each control, has one h1 and a title that
names no case data. Two pictures of the JSON API's part of README are taken on the way
(see tests/browser/guide_shots.py for the command that renews them)."""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from incidents.crypto.keys import MasterKey
from incidents.db import utcnow
from incidents.extensions import db
from incidents.models import Report, User
from tests.browser.conftest import LiveDemo, open_as, serve_demo
from tests.browser.guide_shots import VIEWPORT, Camera
from tests.security.conftest import open_sessions

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WIDTHS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
STEP_TIMEOUT_MS = 10_000
CASE_KINDS = {"incident", "report", "source", "person", "consent", "act", "involvement"}
ADVOCACY_KINDS = {"campaign", "advocacy_action", "action_response", "follow_up", "action_link"}
# A record's reference, and what of the demo case a page's title must never name.
REFERENCE = re.compile(r"\b[A-Z]{3}-(\d{4}-)?\d{4}\b")
CASE_WORDS = ("Movsar Demoev", "Aslan Primerov", "Timur Fiktivov", "checkpoint", "detain")
# The form controls a screen reader could only announce by their kind: no name at all.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter(el => el.type !== "hidden")
  .filter(el => {
    const named = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    const label = [...(el.labels || [])].map(l => l.textContent.trim()).join("");
    const text = el.tagName === "BUTTON" ? el.textContent.trim() : "";
    return !(named || label || text);
  })
  .map(el => el.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[LiveDemo]:
    """The demo as an enrolled account sees it: no demo banner in the pictures."""
    with serve_demo(tmp_path_factory.mktemp("import-export"), master_key) as server:
        yield server


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Camera:
    return Camera(tmp_path_factory.mktemp("api-shots"))


def _open(browser: Any, live: LiveDemo, role: str, viewport: dict[str, int]) -> Any:
    page, problems = open_as(browser, live, role, viewport)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.problems = problems  # the console's errors and warnings, CSP violations included
    page.findings = {}  # what each page visited got wrong, by its address
    return page


def _look(page: Any, *, refused: bool = False) -> None:
    """Note what the page in view gets wrong for a newcomer: wider than the screen, an
    error in the console, a control without a label, not one h1, a title with case data.
    A form sent back as refused answers 422, which the console reports: that is expected."""
    page.wait_for_load_state()
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        found.append(f"{overflow}px wider than the screen")
    console = [p for p in page.problems if not (refused and "status of 422" in p)]
    found += [f"console: {p}" for p in console]
    page.problems.clear()
    found += [f"no label: {html}" for html in page.evaluate(UNLABELLED)]
    if (headings := page.locator("h1").count()) != 1:
        found.append(f"{headings} h1 headings")
    title = page.title()
    if not title.endswith("· Incidents") or REFERENCE.search(title):
        found.append(f"title {title!r}")
    found += [f"title names {w!r}" for w in CASE_WORDS if w.lower() in title.lower()]
    if found:
        page.findings.setdefault(urlsplit(page.url).path, []).extend(found)


def _click(page: Any, name: str, role: str = "button") -> None:
    page.get_by_role(role, name=name, exact=True).click()
    page.wait_for_load_state()


def _confirmation_long_ago(live: LiveDemo, role: str) -> None:
    """As if the password was last entered an hour ago, so the page asks for it again."""
    with live.app.app_context():
        user = db.session.scalars(select(User).where(User.email == live.passwords[role][0])).one()
        for row in open_sessions(db.session, user):
            row.confirmed_at = utcnow() - timedelta(hours=1)
        db.session.commit()


def _confirm_password(page: Any, live: LiveDemo, role: str) -> None:
    assert "/reauthenticate" in page.url, page.url
    _look(page)
    page.get_by_label("Password").fill(live.passwords[role][1])
    _click(page, "Confirm")


def _me(live: LiveDemo, token: str) -> tuple[int, dict[str, Any]]:
    """What the live server's /api/v1/me answers to `token`."""
    server = urlsplit(live.url)
    connection = http.client.HTTPConnection(server.hostname or "", server.port, timeout=10)
    try:
        connection.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def _reports(live: LiveDemo) -> int:
    with live.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Report)) or 0)


def _on_one_line(control: Any, label: Any) -> bool:
    """Whether a checkbox is on its label's line, before it."""
    box, text = control.bounding_box(), label.bounding_box()
    middle = box["y"] + box["height"] / 2
    return bool(text["y"] <= middle <= text["y"] + text["height"] and box["x"] < text["x"])


def _starts_at_the_left(element: Any, box: Any) -> bool:
    """Whether `element` starts where the content of `box` does."""
    left = box.evaluate(
        "el => el.getBoundingClientRect().left + parseFloat(getComputedStyle(el).paddingLeft)"
    )
    return bool(abs(element.bounding_box()["x"] - left) < 2)


def _before(first: Any, second: Any) -> bool:
    """Whether `first` comes before `second` in the page."""
    following = "(a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)"
    return bool(first.evaluate(following, second.element_handle()))


def _shoot(page: Any, camera: Camera, name: str, height: int) -> None:
    """The top of the page's main part, `height` pixels of it, for README at the guide's
    width; the page goes back to its own width after."""
    before = page.viewport_size
    page.set_viewport_size(VIEWPORT)
    camera.shoot(page, name, page.locator("main"), max_height=height, margin=0)
    page.set_viewport_size(before)


@pytest.mark.parametrize("viewport", WIDTHS)
def test_a_researcher_makes_an_api_token_uses_it_and_revokes_it(
    browser: Any, live: LiveDemo, camera: Camera, viewport: dict[str, int]
) -> None:
    page = _open(browser, live, "researcher", viewport)
    name = "Nightly partner sync" + ("" if viewport is DESKTOP else " on a phone")
    _confirmation_long_ago(live, "researcher")
    page.get_by_role("link", name=live.passwords["researcher"][0]).click()  # the e-mail
    _look(page)
    _click(page, "Make a new API token", "link")
    _confirm_password(page, live, "researcher")
    assert page.url.endswith("/account/api-tokens/new"), page.url
    _look(page)
    _click(page, "Make the token")  # without a name: refused, said at the top and beside it
    assert "Name: Give the token a name" in page.inner_text("#error-summary")
    _look(page, refused=True)
    page.get_by_label("Name").fill(name)
    page.get_by_label(re.compile(r"^cases:read")).check()
    _click(page, "Make the token")

    token = page.get_by_label(f"Token “{name}”").input_value()
    assert token.startswith("inc_"), "the token itself, to copy"
    _look(page)
    if viewport is DESKTOP:
        _shoot(page, camera, "api-token-shown", height=400)
    status, me = _me(live, token)
    assert status == 200, me
    assert me["email"] == live.passwords["researcher"][0]
    assert me["token"]["name"] == name and me["token"]["scopes"] == ["cases:read"]

    # Shown once: neither the account page nor the form shows it again.
    _click(page, "I have copied it", "link")
    listed = page.locator("section", has=page.get_by_role("heading", name="API tokens"))
    assert name in listed.inner_text() and token not in page.content()
    if viewport is PHONE:  # each token a card, its button not pushed past a label column
        revoke = page.get_by_role("button", name=f"Revoke “{name}”")
        assert _starts_at_the_left(revoke, listed.locator("tbody tr").filter(has=revoke))
    _look(page)
    page.goto(f"{live.url}/account/api-tokens/new")
    assert token not in page.content()
    page.go_back()

    _click(page, f"Revoke “{name}”")
    assert f"Revoked the API token “{name}”" in page.inner_text(".flashes")
    _look(page)
    assert name not in listed.inner_text(), "a revoked token is no longer listed"
    assert "revoked or expired" in listed.inner_text()
    assert _me(live, token)[0] == 401
    assert page.findings == {}
    page.context.close()


def _template(page: Any, kind: str) -> list[str]:
    """The columns of the CSV template the Import page links to."""
    with page.expect_download() as download:
        page.get_by_role("link", name=f"{kind}.csv").click()
    saved = download.value
    assert saved.suggested_filename == f"{kind}.csv"
    with open(saved.path(), encoding="utf-8-sig", newline="") as file:
        return next(csv.reader(file))


def _csv(columns: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _send(page: Any, body: bytes, *, only_check: bool) -> None:
    page.locator('input[type="file"]').set_input_files(
        {"name": "report.csv", "mimeType": "text/csv", "buffer": body}
    )
    page.get_by_label("Only check — change nothing").set_checked(only_check)
    _click(page, "Send the file")


@pytest.mark.parametrize("viewport", WIDTHS)
def test_a_researcher_imports_reports_from_the_template_checking_first(
    browser: Any, live: LiveDemo, camera: Camera, viewport: dict[str, int]
) -> None:
    page = _open(browser, live, "researcher", viewport)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    _click(page, "Import records", "link")
    assert page.url.endswith("/import"), page.url
    _look(page)
    only_check = page.get_by_label("Only check — change nothing")
    assert only_check.is_checked(), "checking first"
    assert _on_one_line(only_check, page.locator(f"label[for={only_check.get_attribute('id')}]"))
    columns = _template(page, "report")
    assert {"title", "received_on", "channel"} <= set(columns), columns
    wide = viewport["width"]
    titles = [f"Hotline call {n} about a raid, imported at {wide}" for n in (1, 2)]
    rows = [
        {"title": titles[0], "received_on": "2017-06-01", "channel": "hotline"},
        {
            "title": titles[1],
            "received_on": "2017-06-02",
            "channel": "secure_message",
            "language": "ru",
        },
    ]
    before = _reports(live)

    _send(page, _csv(columns, rows), only_check=True)
    outcome = page.locator("section.import-outcome")
    assert "report.csv can be imported: nothing was changed" in outcome.inner_text()
    assert _before(page.locator("h1"), outcome), "the page's heading, then what the file did"
    counts = outcome.locator("tbody tr", has_text="report")
    assert counts.locator("td").first.inner_text() == "2", "two to be created"
    assert _reports(live) == before
    _look(page)
    if viewport is DESKTOP:
        _shoot(page, camera, "import-dry-run", height=440)

    _send(page, _csv(columns, rows), only_check=False)
    assert "Imported report.csv" in outcome.inner_text()
    assert _reports(live) == before + 2
    _look(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    listed = page.locator("main").inner_text()
    assert all(title in listed for title in titles), listed

    # One bad row among good ones: that row and field named, and nothing imported.
    _click(page, "Import records", "link")
    good = {"title": f"A third call, at {wide}", "received_on": "2017-06-03", "channel": "hotline"}
    bad = {"title": f"A fourth call, at {wide}", "received_on": "last June", "channel": "hotline"}
    _send(page, _csv(columns, [good, bad]), only_check=False)
    assert "Nothing was imported: 1 problem in report.csv" in outcome.inner_text()
    problem = page.locator("#import-errors tbody tr")
    assert problem.count() == 1
    assert "line 3" in problem.locator("th").inner_text()
    assert problem.locator("td").first.inner_text() == "received_on"
    assert _reports(live) == before + 2, "not even the good row"
    assert not page.get_by_label("Only check — change nothing").is_checked(), "the choice kept"
    _look(page, refused=True)
    assert page.findings == {}
    page.context.close()


def _download(page: Any, profile: str) -> Any:
    page.get_by_label(re.compile(rf"^{profile} records", re.IGNORECASE)).check()
    page.get_by_label(re.compile(r"^JSON")).check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    return download.value


def _header(download: Any) -> dict[str, Any]:
    with open(download.path(), encoding="utf-8") as file:
        document: dict[str, Any] = json.load(file)
    return document


@pytest.mark.parametrize("viewport", WIDTHS)
def test_a_researcher_exports_internal_records_then_full_ones_after_the_password(
    browser: Any, live: LiveDemo, viewport: dict[str, int]
) -> None:
    page = _open(browser, live, "researcher", viewport)
    page.goto(f"{live.url}/summaries")
    _click(page, "All exports, as JSON or CSV…", "link")
    assert page.url.endswith("/export"), page.url
    _look(page)
    offered = page.locator('input[name="profile"]').evaluate_all("els => els.map(e => e.value)")
    assert offered == ["full", "internal", "partner", "public"]

    internal = _download(page, "internal")
    assert re.fullmatch(
        r"incidents-records-internal-\d{4}-\d\d-\d\d\.json", internal.suggested_filename
    )
    header = _header(internal)
    assert header["format"] == "incidents-records/1" and header["profile"] == "internal"
    assert "secret" not in header["field_classes"]

    # A write, which waits for any transaction the download's stream may have left open.
    _confirmation_long_ago(live, "researcher")
    page.get_by_label(re.compile(r"^full records", re.IGNORECASE)).check()
    _click(page, "Download the export")
    assert "repeat what you were doing" in page.inner_text(".flashes")
    _confirm_password(page, live, "researcher")
    assert page.url.endswith("/export"), page.url
    _look(page)
    full = _download(page, "full")
    assert full.suggested_filename.startswith("incidents-records-full-")
    header = _header(full)
    assert header["format"] == "incidents-records/1" and header["profile"] == "full"
    assert "secret" in header["field_classes"]
    assert page.findings == {}
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_advocacy_lead_is_offered_advocacy_imports_and_summaries_only(
    browser: Any, live: LiveDemo, viewport: dict[str, int]
) -> None:
    page = _open(browser, live, "advocacy_lead", viewport)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Advocacy").click()
    _click(page, "Import records", "link")
    assert page.url.endswith("/import"), page.url
    _look(page)
    kinds = page.get_by_label("What a CSV holds").locator("option")
    offered = {v for v in kinds.evaluate_all("els => els.map(e => e.value)") if v}
    assert offered >= ADVOCACY_KINDS and not offered & CASE_KINDS, offered
    templates = set(page.locator("#templates-title + p + ul a").all_inner_texts())
    assert templates == {f"{kind}.csv" for kind in offered}, templates
    assert "report.csv" not in page.locator("main form").text_content(), "examples it may use"

    page.goto(f"{live.url}/export")
    _look(page)
    profiles = page.locator('input[name="profile"]').evaluate_all("els => els.map(e => e.value)")
    assert profiles == ["partner", "public"]
    assert page.findings == {}
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_the_api_reference_page_reads_well(
    browser: Any, live: LiveDemo, viewport: dict[str, int]
) -> None:
    page = _open(browser, live, "researcher", viewport)
    page.goto(f"{live.url}/api/v1/docs")
    _look(page)
    assert page.locator("h3", has_text="GET /api/v1/me").count() == 1
    assert page.locator("#problems").is_visible()
    assert "`" not in page.locator("main").inner_text(), "the document's code shown as code"
    assert page.findings == {}
    page.context.close()
