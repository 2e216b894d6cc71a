"""An advocacy lead attacking the advocacy area: naming another team's records in the
forms (a report to link or to support a response, a campaign, an assignee) by reference
and by id, also as a lead working in both teams; the pages that answer a refused or
conflicting write; profiles that are not the summaries'; text that would be markup in a
chart; and what a calendar feed carries. Every attempt is refused like a record that
does not exist, changes nothing, and shows nothing of the other record.
"""

from __future__ import annotations

import html
import uuid
from datetime import date, timedelta
from typing import Any

import icalendar
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import ActionLink, ActionResponse, AdvocacyAction, FollowUp, User
from incidents.models.vocabularies import ActionKind, Role
from tests.conftest import csrf_token
from tests.factories import (
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    FollowUpFactory,
    IncidentFactory,
    ReportFactory,
    UserFactory,
)
from tests.security.conftest import enter
from tests.web.conftest import World

REFUSED = 422
CONFLICT = 409
THEIR_TITLE = "CANARY-their-report-title-2W7"
OUR_TITLE = "CANARY-our-report-title-5T3"


def _post(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})
    return response.status_code, html.unescape(response.get_data(as_text=True))


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture(params=["one team", "both teams"])
def lead(
    request: pytest.FixtureRequest, world: World, client: FlaskClient, db_session: Session
) -> User:
    """The team's advocacy lead, or a lead of both teams: the other team's records are
    theirs to read, and still no part of the first team's action."""
    user = world.users["advocacy_lead"]
    if request.param == "both teams":
        user = UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.team, world.other_team])
    enter(client, db_session, user)
    return user


@pytest.fixture
def theirs(world: World) -> dict[str, Any]:
    """Another team's report, campaign and advocacy lead."""
    other = world.other_team
    return {
        "report": ReportFactory(
            team_id=other.id, incident_id=world.other_incident.id, title=THEIR_TITLE
        ),
        "campaign": CampaignFactory(team_id=other.id, name="CANARY-their-campaign-8P1"),
        "lead": UserFactory(
            role=Role.ADVOCACY_LEAD, teams=[other], display_name="CANARY-their-lead-3M3"
        ),
    }


@pytest.fixture
def action(world: World) -> AdvocacyAction:
    return AdvocacyActionFactory(team_id=world.team.id, kind=ActionKind.PETITION)


def _keys(record: Any) -> list[str]:
    """Every way a form could name a record: reference, id, id without dashes."""
    return [k for k in (getattr(record, "reference", None), str(record.id), record.id.hex) if k]


def test_another_teams_report_cannot_be_linked_by_reference_or_id(
    client: FlaskClient,
    db_session: Session,
    action: AdvocacyAction,
    theirs: dict[str, Any],
    lead: User,
) -> None:
    for key in _keys(theirs["report"]):
        status, text = _post(client, f"/advocacy/actions/{action.reference}/links/new", report=key)
        assert status == REFUSED, key
        assert "There is no report" in text and "in this team" in text, key
        assert "CANARY" not in text, key
    assert _count(db_session, ActionLink) == 0


def test_another_teams_report_cannot_support_a_response(
    client: FlaskClient,
    db_session: Session,
    action: AdvocacyAction,
    theirs: dict[str, Any],
    lead: User,
) -> None:
    response = ActionResponseFactory(action_id=action.id)
    for key in _keys(theirs["report"]):
        new = f"/advocacy/actions/{action.reference}/responses/new"
        status, text = _post(client, new, kind="denial", supporting_report=key)
        assert status == REFUSED and "There is no report" in text, key
        assert "CANARY" not in text, key
        edit = f"/advocacy/responses/{response.id}/edit"
        status, text = _post(
            client,
            edit,
            kind="denial",
            supporting_report=key,
            lock_version=str(response.lock_version),
        )
        assert status == REFUSED and "There is no report" in text, key
        assert "CANARY" not in text, key
    db_session.refresh(response)
    assert response.supporting_report_id is None
    assert _count(db_session, ActionResponse) == 1


def test_another_teams_campaign_cannot_hold_the_teams_action(
    client: FlaskClient,
    db_session: Session,
    world: World,
    action: AdvocacyAction,
    theirs: dict[str, Any],
    lead: User,
) -> None:
    campaign = theirs["campaign"]
    # "Add an action" to their campaign: the form names neither it nor its team.
    offered = client.get(f"/advocacy/actions/new?campaign={campaign.id}").get_data(as_text=True)
    assert f'value="{campaign.id}" selected' not in offered
    edit = f"/advocacy/actions/{action.reference}/edit"
    assert str(campaign.id) not in client.get(edit).get_data(as_text=True)
    status, text = _post(
        client,
        edit,
        kind="petition",
        title=action.title,
        campaign=str(campaign.id),
        lock_version=str(action.lock_version),
    )
    assert status == REFUSED and "There is no campaign" in text
    assert "CANARY" not in text
    status, text = _post(
        client,
        "/advocacy/actions/new",
        kind="letter",
        title="A letter",
        campaign=str(campaign.id),
        team=str(world.team.id),
    )
    assert status == REFUSED and "There is no campaign" in text
    db_session.refresh(action)
    assert action.campaign_id is None
    assert (
        db_session.scalars(
            select(AdvocacyAction).where(AdvocacyAction.campaign_id == campaign.id)
        ).first()
        is None
    )


def test_a_follow_up_goes_to_no_one_outside_the_teams_advocacy(
    client: FlaskClient,
    db_session: Session,
    world: World,
    action: AdvocacyAction,
    theirs: dict[str, Any],
    lead: User,
) -> None:
    form = client.get(f"/advocacy/actions/{action.reference}/follow-ups/new").get_data(as_text=True)
    assert "CANARY" not in form and str(theirs["lead"].id) not in form
    follow_up = FollowUpFactory(action_id=action.id)
    disabled = UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.team], is_active=False)
    strangers = [theirs["lead"], world.users["researcher"], world.users["auditor"], disabled]
    for user in strangers:
        new = f"/advocacy/actions/{action.reference}/follow-ups/new"
        status, text = _post(client, new, description="Write again.", assignee=str(user.id))
        assert status == REFUSED and "cannot be given this follow-up" in text, user.email
        edit = f"/advocacy/follow-ups/{follow_up.id}/edit"
        status, text = _post(
            client,
            edit,
            description="Write again.",
            assignee=str(user.id),
            lock_version=str(follow_up.lock_version),
        )
        assert status == REFUSED and "cannot be given this follow-up" in text, user.email
        assert "CANARY" not in text
    db_session.refresh(follow_up)
    assert follow_up.assignee_id is None and _count(db_session, FollowUp) == 1


def test_an_edit_conflict_on_a_response_shows_the_report_by_reference_only(
    client: FlaskClient, db_session: Session, world: World, action: AdvocacyAction, lead: User
) -> None:
    ours = ReportFactory(team_id=world.team.id, incident_id=world.incident.id, title=OUR_TITLE)
    response = ActionResponseFactory(action_id=action.id, supporting_report_id=ours.id)
    edit = f"/advocacy/responses/{response.id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert ours.reference in form and "CANARY" not in form
    stale = str(response.lock_version)
    response.text = "Changed meanwhile by a colleague."
    db_session.flush()
    status, text = _post(
        client, edit, kind="denial", text="Mine.", supporting_report="", lock_version=stale
    )
    assert status == CONFLICT and "Someone else saved this" in text
    assert ours.reference in text and "CANARY" not in text


SUMMARY_PAGES = ("{case}", "{case}/export", "/summaries", "/summaries/export")


@pytest.mark.parametrize("profile", ["full", "internal", "FULL", "partner ", "x" * 500])
def test_only_the_summary_profiles_are_served(
    client: FlaskClient, world: World, lead: User, profile: str
) -> None:
    ReportFactory(team_id=world.team.id, incident_id=world.incident.id, title=OUR_TITLE)
    case = f"/incidents/{world.incident.reference}/summary"
    for page in SUMMARY_PAGES:
        path = page.format(case=case)
        response = client.get(path, query_string={"profile": profile})
        body = response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert response.mimetype == "text/html", path  # an error page, never a download
        assert "CANARY" not in body and "Content-Disposition" not in response.headers, path


def test_chart_and_table_text_from_data_is_escaped(
    client: FlaskClient, world: World, lead: User
) -> None:
    markup = '<script>alert(1)</script></text><svg onload="alert(2)">'
    IncidentFactory(team_id=world.team.id, region=markup, country="RU")
    page = client.get("/dashboard")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in body and "<svg onload" not in body
    assert "&lt;script&gt;alert(1)" in body  # shown, as text, in the chart and the table
    assert 'id="chart-regions"' in body


def test_the_feed_names_only_action_references_of_the_users_own_follow_ups(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    user = world.users["advocacy_lead"]
    enter(client, db_session, user)
    ours = AdvocacyActionFactory(team_id=world.team.id, title="CANARY-action-title-1A1")
    due = date.today() + timedelta(days=5)
    FollowUpFactory(action_id=ours.id, assignee_id=user.id, due_on=due, description="CANARY-1")
    FollowUpFactory(action_id=ours.id, due_on=due, description="CANARY-not-theirs")
    # Assigned to the user in a team they are not in (they left it): not theirs to see.
    gone = AdvocacyActionFactory(team_id=world.other_team.id)
    FollowUpFactory(action_id=gone.id, assignee_id=user.id, due_on=due)
    made = client.post("/account/calendar", data={"csrf_token": csrf_token(client, "/account")})
    text = made.get_data(as_text=True)
    start = text.index("/calendar/")
    path = text[start : text.index(".ics", start) + 4]
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    db_session.refresh(user)
    assert token not in (user.calendar_token_hash or "")

    calendar_app = client.application.test_client()
    feed = calendar_app.get(path)
    assert feed.status_code == 200
    assert "CANARY" not in "".join(f"{k}: {v}" for k, v in feed.headers.items())
    calendar = icalendar.Calendar.from_ical(feed.data)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == [f"Follow-up on {ours.reference}"]
    assert {name for name in events[0]} <= {"UID", "SUMMARY", "DTSTART", "DTEND", "DTSTAMP", "URL"}
    assert b"CANARY" not in feed.data and gone.reference.encode() not in feed.data
    # A token with a line break or a header in it is no token: the same 404, no header.
    for bad in (
        f"{token}%0d%0aSet-Cookie:%20x=1",
        token[:-1] + ("B" if token.endswith("A") else "A"),
        str(uuid.uuid4()),
    ):
        answer = calendar_app.get(f"/calendar/{bad}.ics")
        assert answer.status_code == 404 and "Set-Cookie" not in answer.headers
