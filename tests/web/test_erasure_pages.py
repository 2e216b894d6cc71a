"""Erasing from the web as a newcomer meets it: the pages name what is erased and lead back
to it, the password page says what it is confirmed for, a second erasure says that it was
done already, and every list marks an erased record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import Person, Report, User, UserSession
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.factories import ActFactory, PersonFactory, ReportFactory, SourceFactory
from tests.helpers import events
from tests.web.conftest import World


@pytest.fixture
def person(world: World) -> Person:
    person: Person = PersonFactory(team_id=world.team.id, secrets={"full_name": "Ruslan Demo"})
    return person


def _erase(client: FlaskClient, reference: str, code: str = "consent_withdrawn") -> str:
    form = {
        "csrf_token": csrf_token(client, f"/records/{reference}/erase"),
        "reason_code": code,
        "confirm_reference": reference,
    }
    response = client.post(f"/records/{reference}/erase", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def _stale(db_session: Session, user: User | None) -> None:
    """The user's password was last entered an hour ago."""
    assert user is not None
    db_session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(confirmed_at=datetime.now(UTC) - timedelta(hours=1))
    )


# -- the erase page ---------------------------------------------------------------------


def test_the_erase_page_names_the_record_and_leads_back_to_it(
    client: FlaskClient, person: Person, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    page = client.get(f"/records/{person.reference}/erase").get_data(as_text=True)
    assert "<title>Erase this person ·" in page  # the title, kept in history, names no record
    assert f"<h1>Erase person {person.reference}</h1>" in page
    back = f'href="/people/{person.reference}"'
    assert f'{back}><span aria-hidden="true">←</span> Back to person {person.reference}' in page
    assert f"{back}>Cancel, keep {person.reference}</a>" in page
    assert "consents, acts and perpetrator details" in page


def test_after_erasing_the_records_page_says_so(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    reference = world.incident.reference
    location = _erase(client, reference, "consent_withdrawn")
    assert location.endswith(f"/incidents/{reference}")
    response = client.get(location)
    body = response.get_data(as_text=True)
    assert response.status_code == 410
    assert f"{reference} is erased." in body
    assert "This record was erased" in body and "Consent withdrawn" in body


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_second_erasure_says_it_was_erased_already(
    method: str,
    client: FlaskClient,
    person: Person,
    as_role: Callable[[str], User | None],
    db_session: Session,
    ctx: Context,
) -> None:
    as_role("researcher")
    reference = person.reference
    token = csrf_token(client, f"/records/{reference}/erase")  # the form, open in a tab
    erase_record(ctx, reference, "other", "a colleague erased it first")
    db_session.flush()
    before = len(events(db_session, AuditAction.RECORD_ERASE))
    form = {"csrf_token": token, "reason_code": "duplicate", "confirm_reference": reference}
    response = client.open(f"/records/{reference}/erase", method=method, data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 410  # gone, not "not found" and not an error page
    assert f"Person {reference} was already erased" in body
    assert "a colleague erased it first" in body
    assert f'href="/people/{reference}"' in body  # the way back
    assert len(events(db_session, AuditAction.RECORD_ERASE)) == before


def test_another_teams_erased_record_is_still_not_found(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], ctx: Context
) -> None:
    erase_record(ctx, world.other_incident.reference, "other", "asked to")
    as_role("researcher")
    response = client.get(f"/records/{world.other_incident.reference}/erase")
    assert response.status_code == 404
    assert "asked to" not in response.get_data(as_text=True)


# -- the password page ------------------------------------------------------------------


def test_the_password_page_names_the_erasure_and_leads_back_to_the_record(
    client: FlaskClient,
    person: Person,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    _stale(db_session, as_role("researcher"))
    response = client.get(f"/records/{person.reference}/erase", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/reauthenticate"
    assert "<title>Confirm your password ·" in page  # the title names no record
    assert f"<h1>Confirm your password to erase person {person.reference}</h1>" in page
    assert f'href="/people/{person.reference}"><span aria-hidden="true">←</span>' in page
    assert f'href="/people/{person.reference}">Cancel</a>' in page


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/people",
        "//evil.example/",
        "/\\evil.example",
        "/no/such/page",
        "/%ff%fe/erase",
        "/records/INC-2017-0001/erase%0d%0aLocation: https://evil.example",
    ],
)
def test_the_way_back_never_leaves_the_site(
    target: str,
    client: FlaskClient,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    _stale(db_session, as_role("researcher"))
    response = client.get("/reauthenticate", query_string={"next": target})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "evil.example" not in page
    assert '<a href="/"><span aria-hidden="true">←</span> Go back without doing it</a>' in page
    assert "<h1>Confirm it is you</h1>" in page


def test_the_password_page_names_an_administrators_operation(
    client: FlaskClient, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    _stale(db_session, as_role("admin"))
    page = client.get("/admin/users/new", follow_redirects=True).get_data(as_text=True)
    assert "<h1>Confirm your password to create a user account</h1>" in page
    assert '<a class="button button--secondary" href="/admin/users">Cancel</a>' in page


# -- erased records in lists ------------------------------------------------------------


def test_the_incident_list_marks_an_erased_incident(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    ctx: Context,
    db_session: Session,
) -> None:
    erase_record(ctx, world.incident.reference, "duplicate")
    db_session.flush()
    for role in ("researcher", "advocacy_lead", "auditor"):
        as_role(role)
        page = client.get("/incidents").get_data(as_text=True)
        row = page[page.index(world.incident.reference) :]
        row = row[: row.index("</th>")]
        assert '<span class="badge badge--erased">Erased</span>' in row, role
        assert page.count("badge--erased") == 1, role  # only the erased one
        client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})


def test_the_incident_page_marks_an_erased_report_and_the_acts_of_an_erased_person(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    ctx: Context,
    db_session: Session,
) -> None:
    team, incident = world.team.id, world.incident.id
    kept: Report = ReportFactory(team_id=team, incident_id=incident)
    gone: Report = ReportFactory(team_id=team, incident_id=incident)
    act = ActFactory(team_id=team, incident_id=incident)
    ActFactory(team_id=team, incident_id=incident)
    person = db_session.get(Person, act.person_id)
    assert person is not None
    erase_record(ctx, gone.reference, "consent_withdrawn")
    erase_record(ctx, person.reference, "consent_withdrawn")
    db_session.flush()
    as_role("researcher")
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    acts = page[page.index('id="acts-heading"') : page.index('id="responses-heading"')]
    marked = [row for row in acts.split("<tr")[1:] if "badge--erased" in row]
    assert len(marked) == 1 and person.reference in marked[0]
    assert "with the person" in marked[0]
    reports = page[page.index('id="reports-heading"') : page.index('id="evidence-heading"')]
    marked = [row for row in reports.split("<tr")[1:] if "badge--erased" in row]
    assert len(marked) == 1 and gone.reference in marked[0] and kept.reference not in marked[0]
    # An erased report takes no new evidence, so it offers no upload form.
    assert f'action="/reports/{gone.reference}/evidence"' not in page
    assert f'action="/reports/{kept.reference}/evidence"' in page


def test_people_search_by_reference_marks_an_erased_person(
    client: FlaskClient,
    person: Person,
    as_role: Callable[[str], User | None],
    ctx: Context,
    db_session: Session,
) -> None:
    erase_record(ctx, person.reference, "consent_withdrawn")
    db_session.flush()
    as_role("researcher")
    form = {"csrf_token": csrf_token(client, "/people"), "q": person.reference.lower()}
    page = client.post("/people", data=form).get_data(as_text=True)
    assert "1 person found." in page
    assert f'href="/people/{person.reference}"' in page
    assert '<span class="badge badge--erased">Erased</span>' in page
    assert "on the reference" in page


def test_the_provenance_trail_marks_an_erased_report_and_source(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    ctx: Context,
    db_session: Session,
) -> None:
    source = SourceFactory(team_id=world.team.id)
    report: Report = ReportFactory(
        team_id=world.team.id, incident_id=world.incident.id, source_id=source.id
    )
    erase_record(ctx, report.reference, "consent_withdrawn")
    erase_record(ctx, source.reference, "consent_withdrawn")
    db_session.flush()
    as_role("auditor")
    page = client.get(f"/audit/incidents/{world.incident.reference}").get_data(as_text=True)
    assert page.count('<span class="badge badge--erased">Erased</span>') == 2
