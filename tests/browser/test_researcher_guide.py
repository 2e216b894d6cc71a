"""The researcher's work end to end in Chromium, as the Researcher's guide tells it: a new
source and a report from it, linked to an incident, consent, a file, the person found again
by its spellings; a refused form that keeps what was typed; two editors of one incident; a
session that ends while typing. The guide's screenshots are taken on the way (see
tests/browser/guide_shots.py for the one command that renews the committed ones)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from incidents.crypto.keys import MasterKey
from incidents.db import utcnow
from incidents.extensions import db
from incidents.models import Report, User
from incidents.models.vocabularies import Role
from incidents.services import accounts
from incidents.web.drafts import KEPT_NOTICE, RESTORED_NOTICE
from tests import helpers, samples
from tests.browser.conftest import LiveDemo, open_as, serve_demo
from tests.browser.guide_shots import SHOTS, VIEWPORT, Camera
from tests.browser.keyboard import tabs_to
from tests.factories import DEFAULT_PASSWORD
from tests.security.conftest import open_sessions

pytestmark = pytest.mark.browser

INCIDENT = "INC-2017-0001"
STEP_TIMEOUT_MS = 10_000
CYRILLIC_NAME = "Зелимхан Абуев"
LATIN_SPELLING = "Zelimkhan Abuyev"
# An account several paragraphs long, in two scripts: what a refused form must not lose.
LONG_ACCOUNT = "\n\n".join(
    [
        "FICTIONAL TESTIMONY. He was stopped at the checkpoint on the Argun road at dusk; "
        "two men in uniform took his phone and read his messages aloud.",
        "«Нас держали в подвале три дня», — говорит он. Each night they asked for names.",
        "He was released to his uncle on the fourth day, with bruises on his back and arms.",
    ]
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[LiveDemo]:
    """The demo without the second-factor requirement, so that the pages (and the guide's
    pictures) look as they do for a real, enrolled account: no demo banner."""
    with serve_demo(tmp_path_factory.mktemp("guide"), master_key) as server:
        yield server


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Camera:
    return Camera(tmp_path_factory.mktemp("guide-shots"))


def _researcher(live: LiveDemo, name: str) -> tuple[str, str]:
    """Another researcher of the demo team: an e-mail and password to log in with."""
    email = f"{name.lower().replace(' ', '.')}@example.org"  # the module's own database
    with live.app.app_context():
        ctx = helpers.context(db.session, live.app)
        team = accounts.team_by_slug(ctx, "north-caucasus")
        assert team is not None
        accounts.create_user(ctx, email, name, DEFAULT_PASSWORD, [Role.RESEARCHER], [team])
        db.session.commit()
    return email, DEFAULT_PASSWORD


def _open(browser: Any, live: LiveDemo, role: str) -> tuple[Any, list[str]]:
    """The demo user of `role`, logged in; a step that cannot be done fails in seconds."""
    page, problems = open_as(browser, live, role, VIEWPORT)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page, problems


def _log_in(browser: Any, live: LiveDemo, credentials: tuple[str, str]) -> Any:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{live.url}/login")
    _fill_login(page, credentials)
    return page


def _fill_login(page: Any, credentials: tuple[str, str]) -> None:
    page.get_by_label("E-mail").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _save(page: Any, button: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _reference(page: Any) -> str:
    """The reference of the record whose page this is (its address ends with it)."""
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def _reports(live: LiveDemo) -> int:
    with live.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Report)) or 0)


def test_a_researcher_logs_a_report_from_a_new_source_and_finds_the_person_again(
    browser: Any, live: LiveDemo, camera: Camera
) -> None:
    page, problems = _open(browser, live, "researcher")

    # A new source, from the Sources list.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    page.get_by_role("link", name="Record a source").click()
    page.get_by_label("Kind of source").select_option(label="witness")
    page.get_by_label("Identity").fill(f"{CYRILLIC_NAME} (fictional), a neighbour")
    page.get_by_label("Contact").fill("FICTIONAL: through the team's contact in Grozny")
    page.get_by_label("Reliability").select_option("B")
    page.get_by_label("Risk level").select_option(label="high")
    _save(page, "Save source")
    source = _reference(page)
    assert source.startswith("SRC-"), page.url
    assert f"Saved source {source}." in page.inner_text(".flashes")

    # The source's consent: two uses, each on its own.
    for use in ("keep in database", "anonymised advocacy"):
        page.get_by_role("link", name="Record a consent…").click()
        page.get_by_label("Use", exact=True).select_option(label=use)
        page.get_by_label("Date given").fill("2017-05-14")
        if use == "anonymised advocacy":
            page.get_by_label("Conditions").fill("Only without the name of his village.")
        _save(page, "Record consent")
        assert page.url.split("#")[0].endswith(f"/sources/{source}"), page.url
    consent = page.locator("section#consent")
    in_force = consent.locator("tbody tr", has_text="In force")
    assert in_force.count() == 2
    assert "Only without the name of his village." in consent.inner_text()
    camera.shoot(page, "consent", consent)

    # The report from it, from the Reports list, linked to the incident as it is logged.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.locator("details.list-filters summary").click()
    page.get_by_label("Status").select_option(label="linked")
    page.get_by_label("Kind of source").select_option(label="victim")
    _save(page, "Show reports")
    listed = page.locator("table").inner_text()
    assert "RPT-2017-0001" in listed and "RPT-2017-0006" not in listed, listed
    camera.shoot(page, "reports-list")
    page.get_by_role("link", name="Log a report").click()
    page.get_by_label("Title").fill("Witness saw the detention at the Argun checkpoint")
    page.get_by_label("Source", exact=True).fill(source)
    page.get_by_label("Incident", exact=True).fill(INCIDENT)
    page.get_by_label("Date received").fill("2017-05-14")
    page.get_by_label("Channel").select_option(label="interview")
    page.get_by_label("Language").fill("ru")
    page.get_by_label("Account").fill(LONG_ACCOUNT)
    page.get_by_label("Credibility").select_option("2")
    page.get_by_label("Status").select_option(label="linked")
    page.get_by_label("Account").evaluate("el => { el.blur(); el.scrollTop = 0; }")
    camera.shoot(page, "log-report", page.locator("main"), max_height=1600, margin=0)
    _save(page, "Save report")
    report = _reference(page)
    assert report.startswith("RPT-"), page.url
    body = page.inner_text("main")
    assert "B2" in body and source in body and INCIDENT in body
    assert "Нас держали в подвале три дня" in body  # the account, to the team's researcher
    camera.shoot(page, "report-grade")

    # The incident counts it: one more report, one more independent source, a third B2.
    page.get_by_role("link", name=INCIDENT).first.click()
    page.wait_for_load_state()
    corroboration = page.locator("#corroboration")
    # The demo's four reports come from four sources; this one is the fifth of each.
    # (The wait: a click only starts the navigation; reading at once may see no figures.)
    expect(corroboration.locator("dl data")).to_have_text(["5", "5"])
    figures = corroboration.inner_text()
    assert "Witness: 1 source (1 report)" in figures and "NGO: 1 source" in figures, figures
    assert "B2 3 reports" in figures, figures
    camera.shoot(page, "corroboration", corroboration)

    # A file for the report, from the incident's evidence section.
    photo = samples.png(padding=64)
    adding = page.locator("details.evidence-add", has_text=report)
    adding.locator("summary").click()
    adding.locator('input[type="file"]').set_input_files(
        {"name": "checkpoint-photo.png", "mimeType": "image/png", "buffer": photo}
    )
    adding.get_by_role("button", name="Add evidence").click()
    page.wait_for_load_state()
    evidence = page.inner_text("body")
    assert "checkpoint-photo.png" in evidence
    assert hashlib.sha256(photo).hexdigest() in evidence

    # The person, their act in the incident, and the person found again by either spelling.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("link", name="Record a person").click()
    page.get_by_label("Full name").fill(CYRILLIC_NAME)
    page.get_by_label("Other names and spellings").fill(LATIN_SPELLING)
    page.get_by_label("Gender", exact=True).select_option(label="man")
    _save(page, "Save person")
    person = _reference(page)
    assert person.startswith("PER-"), page.url
    page.goto(f"{live.url}/incidents/{INCIDENT}")
    page.get_by_role("link", name="Record what was done to a person").click()
    page.get_by_label(re.compile(r"^Person")).fill(person)
    page.get_by_label(re.compile(r"^Act\b")).select_option(label="detained")
    page.get_by_label("Start date").fill("2017-04")
    page.get_by_label("Status at the end").select_option(label="released")
    _save(page, "Save act")
    assert person in page.locator("main").inner_text()

    # As recorded, in another order and case, and as the Cyrillic reads in Latin letters.
    for spelling in (CYRILLIC_NAME, "abuyev zelimkhan", "Zelimkhan Abuev"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
        page.get_by_label("Name, alias, date of birth or reference").fill(spelling)
        _save(page, "Search")
        results = page.locator("main").inner_text()
        assert person in results, (spelling, results)
        if spelling == CYRILLIC_NAME:
            camera.shoot(page, "person-search")
    assert problems == [], problems
    page.context.close()


def test_a_refused_report_keeps_everything_typed(browser: Any, live: LiveDemo) -> None:
    page, problems = _open(browser, live, "researcher")
    page.goto(f"{live.url}/reports/new")
    before = _reports(live)
    page.get_by_label("Date received").fill("2017-05-03")
    page.get_by_label("Channel").select_option(label="hotline")
    page.get_by_label("Account").fill(LONG_ACCOUNT)
    _save(page, "Save report")  # without a title

    assert _reports(live) == before, "nothing is saved half"
    assert page.get_by_label("Account").input_value() == LONG_ACCOUNT
    assert page.get_by_label("Date received").input_value() == "2017-05-03"
    title = page.get_by_label("Title")
    assert title.get_attribute("aria-invalid") == "true"
    beside = page.locator(f"#{title.get_attribute('id')}-errors").inner_text()
    assert beside.strip(), "a message beside the title"
    summary = page.locator("#error-summary")
    assert summary.is_visible() and beside.strip() in summary.inner_text()
    box = summary.bounding_box()
    assert box is not None and box["y"] < VIEWPORT["height"], "the summary is on the first screen"
    assert [p for p in problems if "status of 422" not in p] == [], problems
    page.context.close()


def test_two_editors_of_one_incident_see_both_versions(
    browser: Any, live: LiveDemo, camera: Camera
) -> None:
    first, _ = _open(browser, live, "researcher")
    second = _log_in(browser, live, _researcher(live, "Second Researcher"))
    edit = f"{live.url}/incidents/INC-2017-0002/edit"
    first.goto(edit)
    second.goto(edit)
    theirs = "Detentions at a checkpoint, confirmed by two sources (first editor)."
    mine = "Detentions at a checkpoint on the Argun road, as the witness told it (second editor)."

    first.get_by_label("Summary").fill(theirs)
    _save(first, "Save changes")
    assert "Saved incident INC-2017-0002: summary." in first.inner_text(".flashes")
    second.get_by_label("Summary").fill(mine)
    _save(second, "Save changes")

    conflict = second.locator("#conflict")
    assert conflict.is_visible()
    row = conflict.locator("tbody tr", has_text="Summary")
    assert theirs in row.inner_text() and mine in row.inner_text()
    assert second.get_by_label("Summary").input_value() == mine, "their own text is kept"
    camera.shoot(second, "edit-conflict")

    # Saving again from there is a knowing choice: the second editor's text is stored.
    _save(second, "Save changes")
    assert "Saved incident INC-2017-0002: summary." in second.inner_text(".flashes")
    assert mine in second.inner_text("main") and theirs not in second.inner_text("main")
    first.context.close()
    second.context.close()


def test_a_session_that_ends_while_typing_keeps_the_draft(browser: Any, live: LiveDemo) -> None:
    credentials = _researcher(live, "Slow Typist")
    page = _log_in(browser, live, credentials)
    page.goto(f"{live.url}/reports/new")
    before = _reports(live)
    page.get_by_label("Title").fill("Hotline call, typed slowly")
    page.get_by_label("Date received").fill("2017-05-04")
    page.get_by_label("Channel").select_option(label="hotline")
    page.get_by_label("Account").fill(LONG_ACCOUNT)
    with live.app.app_context():  # the researcher was away for longer than the idle limit
        user = db.session.scalars(select(User).where(User.email == credentials[0])).one()
        idle = timedelta(minutes=live.app.config["INCIDENTS_SETTINGS"].session_idle_minutes)
        for row in open_sessions(db.session, user):
            row.last_seen_at = utcnow() - idle - timedelta(seconds=5)
        db.session.commit()

    _save(page, "Save report")
    assert "/login" in page.url, page.url
    assert KEPT_NOTICE in page.inner_text("body")
    assert _reports(live) == before
    _fill_login(page, credentials)
    assert page.url.endswith("/reports/new"), page.url
    assert RESTORED_NOTICE in page.inner_text("body")
    assert page.get_by_label("Title").input_value() == "Hotline call, typed slowly"
    assert page.get_by_label("Account").input_value() == LONG_ACCOUNT
    assert page.get_by_label("Channel").input_value() == "hotline"
    assert page.get_by_label("Date received").input_value() == "2017-05-04"
    _save(page, "Save report")
    assert _reference(page).startswith("RPT-")
    assert _reports(live) == before + 1
    page.context.close()


def test_a_new_report_is_linked_to_its_incident_from_the_triage_queue(
    browser: Any, live: LiveDemo, camera: Camera
) -> None:
    page, problems = _open(browser, live, "researcher")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Triage").click()
    item = page.locator("li.triage-item", has_text="RPT-2017-0006")
    item.locator("summary").click()
    item.get_by_label("Link to an incident").check()
    item.get_by_label("Incident to link to").fill("INC-2017-0002")
    camera.shoot(page, "triage", item)
    item.get_by_role("button", name="Save the decision about RPT-2017-0006").click()
    page.wait_for_load_state()
    assert "RPT-2017-0006" not in page.locator("main").inner_text(), "out of the queue"
    page.goto(f"{live.url}/reports/RPT-2017-0006")
    facts = page.locator("main").inner_text()
    assert "INC-2017-0002" in facts and "linked" in facts
    assert problems == [], problems
    page.context.close()


def test_the_help_page_shows_every_picture_of_the_guide(browser: Any, live: LiveDemo) -> None:
    page, problems = _open(browser, live, "advocacy_lead")  # not only for researchers
    page.get_by_role("link", name="Help", exact=True).click()
    pictures = page.locator("figure.guide-shot img")
    assert pictures.count() == len(SHOTS)
    for index in range(len(SHOTS)):
        picture = pictures.nth(index)
        picture.scroll_into_view_if_needed()  # they load lazily
        picture.evaluate("img => img.decode()")  # resolves once it is loaded and drawable
        assert picture.evaluate("img => img.naturalWidth") == VIEWPORT["width"]
    assert problems == [], problems  # no picture refused by the Content-Security-Policy
    page.context.close()


PHONE = {"width": 390, "height": 844}
# The workspace's pages, and the button that sends each one's form (None: no form to send).
PHONE_PAGES = {
    "/reports": "Show reports",
    "/reports/new": "Save report",
    "/reports/RPT-2017-0001": None,
    "/sources": "Show sources",
    "/sources/new": "Save source",
    "/sources/SRC-0001": None,
    "/incidents/new": "Save incident",
    "/incidents/INC-2017-0002/edit": "Save changes",
    "/triage": "Apply to the chosen reports",
    "/help": None,
}


def test_the_workspace_pages_fit_a_phone_and_their_forms_work_by_keyboard(
    browser: Any, live: LiveDemo
) -> None:
    page, problems = open_as(browser, live, "researcher", PHONE)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    too_wide, unreachable = {}, []
    for path, button in PHONE_PAGES.items():
        # Every picture loaded before moving on: a download cut short by the next page
        # leaves the live server's file handle to the garbage collector (a warning here).
        response = page.goto(f"{live.url}{path}", wait_until="networkidle")
        assert response is not None and response.status == 200, path
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            too_wide[path] = overflow
        if button is not None:
            target = page.get_by_role("button", name=button, exact=True, include_hidden=True)
            if tabs_to(page, target) is None or not target.is_visible():
                unreachable.append(path)
    assert too_wide == {}, "pages wider than a phone (by so many pixels)"
    assert unreachable == [], "forms whose button the keyboard does not reach"
    assert problems == [], problems
    page.context.close()
