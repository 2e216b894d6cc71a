"""The related-cases section on the incident and person pages: shown to the team's
researchers with a reason per suggestion, absent — not empty — for every other role,
and its buttons dismiss a suggestion for good (audited) or bring it back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import Incident, User
from tests.conftest import csrf_token
from tests.factories import ActFactory, IncidentFactory, InvolvementFactory, PersonFactory
from tests.helpers import count_events
from tests.web.conftest import World

UNIT = "Demo Special Unit No. 0"


def _with_unit(world: World, units: str, day: dt.date = dt.date(2017, 3, 5)) -> Incident:
    incident = IncidentFactory(
        team_id=world.team.id,
        start_date=day,
        secrets={"narrative": "An account.", "place_detail": f"Place of {units} {day}"},
    )
    act = ActFactory(team_id=world.team.id, incident_id=incident.id)
    InvolvementFactory(
        team_id=world.team.id, act_id=act.id, secrets={"units": units, "perpetrator_names": None}
    )
    return incident


def test_researchers_see_why_and_other_roles_see_no_section(
    client: FlaskClient, world: World, signed_in: Callable[[str], User]
) -> None:
    subject = _with_unit(world, UNIT)
    other = _with_unit(world, "DEMO SPEC. UNIT #0", dt.date(2017, 3, 20))
    page = f"/incidents/{subject.reference}"
    signed_in("researcher")
    html = client.get(page).get_data(as_text=True)
    assert 'id="related-heading"' in html and 'href="#related-heading"' in html
    assert other.reference in html
    assert f"same unit</span> (“{UNIT}”)" in html
    assert "DEMO SPEC." not in html  # the other record's own spelling is not shown
    for role in ("advocacy_lead", "auditor"):
        signed_in(role)
        html = client.get(page).get_data(as_text=True)
        assert "Related cases" not in html and "related-heading" not in html, role
        assert f"{page}/related" not in html and other.reference not in html, role


def test_a_dismissed_suggestion_stays_dismissed_and_comes_back_on_request(
    client: FlaskClient, world: World, signed_in: Callable[[str], User], db_session: Session
) -> None:
    subject = _with_unit(world, UNIT)
    other = _with_unit(world, UNIT.upper(), dt.date(2017, 3, 9))
    page = f"/incidents/{subject.reference}"
    signed_in("researcher")
    form = {
        "csrf_token": csrf_token(client, page),
        "other": other.reference,
        "reason": "same_unit",
        "action": "dismiss",
    }
    answer = client.post(f"{page}/related", data=form)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#related-heading")
    assert count_events(db_session, AuditAction.SUGGESTION_DISMISS, target=subject) == 1
    html = client.get(page).get_data(as_text=True)
    assert "No related case found." in html
    assert "Dismissed suggestions (1)" in html and "Suggest again" in html
    # From the other incident's page, the pair is dismissed as well.
    assert "No related case found." in client.get(f"/incidents/{other.reference}").get_data(
        as_text=True
    )
    answer = client.post(f"{page}/related", data=form | {"action": "restore"})
    assert answer.status_code == 302
    assert count_events(db_session, AuditAction.SUGGESTION_RESTORE, target=subject) == 1
    html = client.get(page).get_data(as_text=True)
    assert "Not related" in html and "Dismissed suggestions" not in html


def test_a_refused_dismissal_shows_the_page_again_with_the_reason(
    client: FlaskClient, world: World, signed_in: Callable[[str], User], db_session: Session
) -> None:
    subject = _with_unit(world, UNIT)
    page = f"/incidents/{subject.reference}"
    signed_in("researcher")
    form = {"csrf_token": csrf_token(client, page), "other": world.other_incident.reference}
    answer = client.post(f"{page}/related", data=form | {"reason": "same_unit"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nothing was changed" in html
    assert f"Suggested record: There is no other incident {world.other_incident.reference}" in html
    answer = client.post(f"{page}/related", data=form | {"other": "", "reason": "nonsense"})
    assert answer.status_code == 422
    assert count_events(db_session, AuditAction.SUGGESTION_DISMISS) == 0


def test_a_persons_page_lists_the_incidents_of_a_namesake(
    client: FlaskClient, world: World, signed_in: Callable[[str], User]
) -> None:
    person = PersonFactory(team_id=world.team.id, secrets={"full_name": "Movsar Demoev"})
    namesake = PersonFactory(team_id=world.team.id, secrets={"full_name": "DEMOYEV Movsar"})
    theirs = IncidentFactory(team_id=world.team.id)
    ActFactory(team_id=world.team.id, person_id=namesake.id, incident_id=theirs.id)
    signed_in("researcher")
    page = f"/people/{person.reference}"
    html = client.get(page).get_data(as_text=True)
    assert namesake.reference in html and theirs.reference in html
    assert "same person&#39;s name</span> (“Movsar Demoev”)" in html
    form = {
        "csrf_token": csrf_token(client, page),
        "other": namesake.reference,
        "reason": "same_person_name",
        "action": "dismiss",
    }
    assert client.post(f"{page}/related", data=form).status_code == 302
    assert "No related case found." in client.get(page).get_data(as_text=True)
