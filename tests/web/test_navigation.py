"""Navigation: the main links each role is shown all open, and every link a role is not
shown would have refused it; the incident page's "On this page" links reach its sections."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import url_for
from flask.testing import FlaskClient

from incidents.models import User
from incidents.web.templating import NAVIGATION
from tests.factories import ReportFactory
from tests.web.conftest import ROLES, World

LOGGED_IN = [role for role in ROLES if role != "anonymous"]
MAIN_NAV = re.compile(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', re.S)
ON_THIS_PAGE = re.compile(r'<nav class="on-this-page" aria-label="On this page">(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]*)"[^>]*>([^<]*)</a>')
# Headings a reader can jump to: every h2 with an id that is not hidden from the eye.
SECTION_HEADING = re.compile(r'<h2 id="([^"]+)"(?! class="visually-hidden")')


def _links(pattern: re.Pattern[str], page: str) -> dict[str, str]:
    """label -> href of the links in the part of `page` that `pattern` finds."""
    found = pattern.search(page)
    assert found, "navigation missing"
    return {label.strip(): unescape(href) for href, label in LINK.findall(found.group(1))}


def _every_entry_path(client: FlaskClient) -> dict[str, str]:
    with client.application.test_request_context():
        return {entry.label: url_for(entry.endpoint) for entry in NAVIGATION}


@pytest.mark.parametrize("role", LOGGED_IN)
def test_a_role_is_shown_exactly_the_areas_it_may_open(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], role: str
) -> None:
    as_role(role)
    shown = _links(MAIN_NAV, client.get("/account").get_data(as_text=True))
    assert shown, "every role is shown at least one area"
    for label, path in _every_entry_path(client).items():
        status = client.get(path).status_code
        if label in shown:
            assert shown[label] == path
            assert status == 200, f"{role} is shown {label}, which answers {status}"
        else:
            assert status in (403, 404), f"{role} may open {label} but is not shown it"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("researcher", {"Incidents", "People"}),
        ("advocacy_lead", {"Incidents"}),
        ("auditor", {"Incidents", "Audit"}),
        ("admin", {"Admin"}),  # no case records for the administrator (separation of duties)
    ],
)
def test_the_areas_each_role_is_shown(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    role: str,
    expected: set[str],
) -> None:
    as_role(role)
    shown = set(_links(MAIN_NAV, client.get("/account").get_data(as_text=True)))
    # Entries added to the navigation later are checked by the test above; these are the
    # ones every installation has had, and the administrator's "Incidents" that answered 403.
    assert shown & {"Incidents", "People", "Audit", "Admin"} == expected


def test_the_current_area_is_marked(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = client.get(f"/audit/incidents/{world.incident.reference}").get_data(as_text=True)
    nav = MAIN_NAV.search(page)
    assert nav
    assert re.findall(r'aria-current="page">([^<]*)<', nav.group(1)) == ["Audit"]


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead", "auditor"])
def test_the_incident_page_links_to_each_of_its_sections(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], role: str
) -> None:
    ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    as_role(role)
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    links = _links(ON_THIS_PAGE, page)
    targets = [href.removeprefix("#") for href in links.values()]
    assert all(href.startswith("#") for href in links.values())
    headings = SECTION_HEADING.findall(page)
    assert targets == headings, "one link per section, in the page's order, none to nowhere"
    assert "acts-heading" in targets and "actions-heading" in targets
    assert ("confidential-heading" in targets) is (role == "researcher")
