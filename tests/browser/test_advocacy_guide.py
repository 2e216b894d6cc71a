"""The advocacy lead's work end to end in Chromium, as the Advocacy lead's guide tells it:
a campaign and two actions in it, a report linked to each (one refused for lack of
consent, with what was typed kept), a response and a follow-up, the redacted case summary,
the dashboard and the calendar feed; the same pages on a phone; the action page as the
researcher and the auditor read it. The guide's screenshots are taken on the way (see
tests/browser/guide_shots.py for the one command that renews the committed ones)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from incidents.crypto.keys import MasterKey
from tests.browser.conftest import LiveDemo, open_as, serve_demo
from tests.browser.guide_shots import VIEWPORT, Camera
from tests.browser.keyboard import tabs_to

pytestmark = pytest.mark.browser

INCIDENT = "INC-2017-0001"
PETITION = "ACT-2017-0001"  # the demo's, with its responses and an open follow-up
INTERVIEW = "RPT-2017-0001"  # its source and people consented to every use
FAMILY = "RPT-2017-0002"  # its source did not consent to transfer to UN bodies or courts
STEP_TIMEOUT_MS = 10_000
CAMPAIGN = "Justice for the detained: autumn 2017"
LETTER = "Letter to the Prosecutor General on the Chechnya detentions"
SUBMISSION = "Allegation letter to the Working Group on Arbitrary Detention"
NOTE = "His account of the detention and the beatings, without his name."
FOLLOW_UP = "Ask the Prosecutor General's office whether the letter was registered."
# What an advocacy lead must never see: report titles (restricted), names (secret).
NEVER_SHOWN = (
    "Interview with a survivor of detention",
    "Call from a relative of a missing man",
    "Press report of over 100 men detained",
    "Movsar Demoev",
    "Aslan Primerov",
    "Timur Fiktivov",
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[LiveDemo]:
    """The demo without the second-factor requirement: the pages (and the guide's pictures)
    as a real, enrolled account sees them, without the demo banner."""
    with serve_demo(tmp_path_factory.mktemp("advocacy"), master_key) as server:
        yield server


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Camera:
    return Camera(tmp_path_factory.mktemp("advocacy-shots"))


def _open(browser: Any, live: LiveDemo, role: str, viewport: dict[str, int] = VIEWPORT) -> Any:
    page, problems = open_as(browser, live, role, viewport)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.problems = problems  # the console's errors and warnings (CSP violations included)
    return page


def _save(page: Any, button: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _flash(page: Any) -> str:
    return str(page.inner_text(".flashes"))


def _reference(page: Any) -> str:
    return str(page.url.split("#")[0].rstrip("/").rsplit("/", 1)[-1])


def _hidden_from_advocacy(page: Any) -> None:
    text = page.inner_text("main")
    assert [s for s in NEVER_SHOWN if s in text] == [], page.url


def _new_action(page: Any, kind: str, title: str, start: str, target: str) -> str:
    """From the campaign's page: "Add an action", the campaign already chosen."""
    page.get_by_role("link", name="Add an action").first.click()
    assert page.get_by_label("Campaign").locator("option:checked").inner_text() == CAMPAIGN
    page.get_by_label("Kind of action").select_option(label=kind)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Start date").fill(start)
    page.get_by_label("Target").fill(target)
    page.get_by_label("Status").select_option(label="planned")
    page.get_by_label("Priority").select_option(label="high")
    _save(page, "Save action")
    reference = _reference(page)
    assert reference.startswith("ACT-"), page.url
    assert f"Saved advocacy action {reference}" in _flash(page), _flash(page)
    assert title in page.inner_text("h1")
    return reference


def _link(page: Any, report: str, note: str) -> None:
    page.get_by_role("link", name="Add a link to a report").click()
    page.get_by_label("Report (required)").fill(report)
    page.get_by_label("Note").fill(note)
    _save(page, "Link report")


def test_an_advocacy_lead_runs_a_campaign_from_its_actions_to_the_dashboard(
    browser: Any, live: LiveDemo, camera: Camera
) -> None:
    page = _open(browser, live, "advocacy_lead")

    # 1. A campaign, from the Advocacy area.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Advocacy").click()
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Start a campaign").click()
    page.get_by_label("Name").fill(CAMPAIGN)
    page.get_by_label("Description").fill("Letters and submissions after the day of action.")
    page.get_by_label("Start date").fill("2017-09-01")
    _save(page, "Save campaign")
    assert "Saved the campaign." in _flash(page), _flash(page)
    assert CAMPAIGN in page.inner_text("h1")
    campaign_url = page.url

    # 2. Two actions in it, each from the campaign's page.
    letter = _new_action(page, "letter", LETTER, "2017-09-15", "Prosecutor General's Office")
    page.goto(campaign_url)
    submission = _new_action(
        page, "UN or treaty-body submission", SUBMISSION, "2017-10-02", "UN WGAD"
    )
    page.get_by_role("link", name=CAMPAIGN).click()  # the action's page names its campaign
    actions = page.locator("section", has=page.locator("#actions-heading")).inner_text()
    assert letter in actions and submission in actions, actions
    for total in ("Signatures in all", "Participants in all"):  # none of them counted yet
        fact = page.locator(".facts > div", has=page.get_by_text(total, exact=True))
        assert fact.locator("dd").text_content() == "not known", total

    # 3. A report for each: the interview serves the letter; the family's call may not go
    # to a UN body, so the submission refuses it, and keeps what was typed.
    page.goto(f"{live.url}/advocacy/actions/{letter}")
    _link(page, INTERVIEW, NOTE)
    assert f"Linked {INTERVIEW} to {letter}." in _flash(page)
    links = page.locator("section", has=page.locator("#links-heading")).inner_text()
    assert INTERVIEW in links and NOTE in links, links
    page.goto(f"{live.url}/advocacy/actions/{submission}")
    _link(page, FAMILY, NOTE)
    refusal = page.locator(".work-refusal")
    assert refusal.is_visible()
    assert (
        f"{FAMILY} cannot support a UN submission: its source has not consented to "
        "transfer to UN bodies or courts." in refusal.inner_text()
    ), refusal.inner_text()
    assert page.get_by_label("Report (required)").input_value() == FAMILY
    assert page.get_by_label("Note").input_value() == NOTE
    _hidden_from_advocacy(page)
    camera.shoot(page, "link-refused", page.locator("main"), margin=0)
    page.goto(f"{live.url}/advocacy/actions/{submission}")
    assert FAMILY not in page.locator("section", has=page.locator("#links-heading")).inner_text()

    # 4. On the letter: the answer that came, and what is to be done next.
    page.goto(f"{live.url}/advocacy/actions/{letter}")
    page.get_by_role("link", name="Add a response").click()
    page.get_by_label("Kind of response").select_option(label="request for information")
    page.get_by_label("Date", exact=True).fill("2017-10-05")
    page.get_by_label("Text").fill("The office asked for the date and place of each detention.")
    _save(page, "Save response")
    responses = page.locator("section", has=page.locator("#responses-heading")).inner_text()
    assert "request for information" in responses and "5 October 2017" in responses, responses
    page.get_by_role("link", name="Add a follow-up").click()
    page.get_by_label("Description").fill(FOLLOW_UP)
    page.get_by_label("Due date").fill("2017-10-20")
    page.get_by_label("Assignee").select_option(label="Demo Advocacy Lead")
    _save(page, "Save follow-up")
    assert f"Added a follow-up to {letter}." in _flash(page)
    row = page.locator("tr", has_text=FOLLOW_UP)
    assert "Demo Advocacy Lead" in row.inner_text() and "Open" in row.inner_text()
    row.get_by_role("button", name="Mark done").click()
    page.wait_for_load_state()
    assert "Marked the follow-up done." in _flash(page)
    assert "Done" in page.locator("tr", has_text=FOLLOW_UP).inner_text()
    page.locator("tr", has_text=FOLLOW_UP).get_by_role("button", name="Mark not done").click()
    page.wait_for_load_state()
    assert "Marked the follow-up not done." in _flash(page)
    assert "Open" in page.locator("tr", has_text=FOLLOW_UP).inner_text()
    _hidden_from_advocacy(page)
    camera.shoot(page, "action-page", page.locator("main"), max_height=1600, margin=0)

    page.get_by_role("link", name="Advocacy actions").first.click()
    listed = page.locator("table").inner_text()
    assert letter in listed and submission in listed and CAMPAIGN in listed, listed
    camera.shoot(page, "advocacy-actions")

    # 5. The case summary under both profiles, and the dashboard.
    page.goto(f"{live.url}/incidents/{INCIDENT}")
    page.get_by_role("link", name="Redacted case summary").click()
    assert "partner profile" in page.inner_text("main"), page.url
    counted = {}
    for profile in ("Partner", "Public"):
        page.get_by_role("link", name=profile, exact=True).click()
        page.wait_for_load_state()
        text = page.inner_text("main")
        assert f"{profile.lower()} profile" in text, page.url
        # An action shows through the counted reports it relies on: the letter's one
        # report may be published without a name, not shared with partners.
        assert (LETTER in text) == (profile == "Public"), page.url
        counted[profile] = page.locator("[id$='-corroboration'] + dl data").first.inner_text()
        _hidden_from_advocacy(page)
        if profile == "Partner":
            camera.shoot(page, "case-summary", page.locator("main"), max_height=1600, margin=0)
    # Fewer reports may be shared with partners than published without a name.
    assert counted == {"Partner": "2", "Public": "3"}, counted
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.wait_for_load_state()
    for chart in ("chart-incidents", "chart-regions", "chart-actions", "chart-coverage"):
        assert page.locator(f"svg#{chart}").count() == 1, chart
    for table in ("table-incidents", "table-regions", "table-actions", "table-coverage"):
        assert page.locator(f"table#{table}").count() == 1, table
    overdue = page.locator("#table-overdue").inner_text()
    assert PETITION in overdue and letter in overdue, overdue
    camera.shoot(page, "dashboard", page.locator("main"), max_height=1400, margin=0)

    # 6. The calendar feed: made on the account page, its address shown once.
    page.get_by_role("link", name="advocacy@demo.example.org").click()
    page.get_by_role("button", name="Make a feed address").click()
    page.wait_for_load_state()
    feed_url = page.get_by_label("Feed address").input_value()
    assert feed_url.startswith(f"{live.url}/calendar/") and feed_url.endswith(".ics")
    anonymous = browser.new_context()  # a calendar application: no session
    feed = anonymous.request.get(feed_url)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    body = feed.text()
    assert f"Follow-up on {letter}" in body and f"Follow-up on {PETITION}" in body, body
    assert "DTSTART;VALUE=DATE:20171020" in body, "on its due date"
    assert "Prosecutor General" not in body and "registered" not in body, "titles only"
    anonymous.close()
    page.get_by_role("link", name="I have copied it").click()
    assert "On." in page.locator("section", has=page.locator("#calendar-heading")).inner_text()
    assert page.problems == [] or all("status of 422" in p for p in page.problems), page.problems
    page.context.close()


PHONE = {"width": 390, "height": 844}
# The advocacy pages, and the button that sends each one's form (None: no form to send).
PHONE_PAGES = {
    "/advocacy/actions": "Show actions",
    f"/advocacy/actions/{PETITION}": None,
    "/advocacy/campaigns": None,
    f"/incidents/{INCIDENT}/summary?profile=partner": None,
    "/dashboard": "Show",
    "/advocacy/actions/new": "Save action",
    "/help/advocacy": None,
}


def test_the_advocacy_pages_fit_a_phone_and_their_forms_work_by_keyboard(
    browser: Any, live: LiveDemo
) -> None:
    page = _open(browser, live, "advocacy_lead", PHONE)
    too_wide, unreachable = {}, []
    for path, button in PHONE_PAGES.items():
        response = page.goto(f"{live.url}{path}", wait_until="networkidle")
        assert response is not None and response.status == 200, path
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            too_wide[path] = overflow
        if button is not None:
            target = page.get_by_role("button", name=button, exact=True, include_hidden=True)
            if tabs_to(page, target) is None or not target.is_visible():
                unreachable.append(path)
    page.goto(f"{live.url}/advocacy/campaigns")
    page.get_by_role("link", name="We Exist").first.click()
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        too_wide["a campaign"] = overflow
    assert too_wide == {}, "pages wider than a phone (by so many pixels)"
    assert unreachable == [], "forms whose button the keyboard does not reach"
    assert page.problems == [], page.problems
    page.context.close()


@pytest.mark.parametrize("role", ["researcher", "auditor", "advocacy_lead"])
def test_researchers_and_auditors_read_an_action_without_changing_it(
    browser: Any, live: LiveDemo, role: str
) -> None:
    page = _open(browser, live, role)
    response = page.goto(f"{live.url}/advocacy/actions/{PETITION}")
    assert response is not None and response.status == 200
    main = page.locator("main")
    text = main.inner_text()
    assert "Petition for a full investigation" in text and "preliminary investigation" in text
    assert "Demand a full criminal investigation" in text, "the follow-ups are shown"
    controls = (
        main.get_by_role("link", name="Add")
        .or_(main.get_by_role("link", name="Edit"))
        .or_(main.get_by_role("link", name="Remove"))
        .or_(main.get_by_role("button"))
    )
    if role == "advocacy_lead":  # the one who may change it, for comparison
        assert controls.count() >= 6, controls.all_inner_texts()
    else:
        assert controls.all_inner_texts() == []
    assert page.problems == [], page.problems
    page.context.close()
