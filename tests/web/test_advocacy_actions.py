"""Advocacy action and campaign pages: an advocacy lead starts a campaign and records an
action in it through the forms, finds it on the list and the campaign's page, edits it;
a refused form keeps what was typed; researchers and auditors read without editing; no
restricted or secret field of a case reaches these pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import AdvocacyAction, Campaign, Organisation, User
from incidents.models.vocabularies import ActionKind, Impact, Priority
from incidents.records.kinds import ORGANISATION
from incidents.services import records
from tests import factories
from tests.conftest import csrf_token
from tests.factories import AdvocacyActionFactory, CampaignFactory, ReportFactory
from tests.helpers import events
from tests.web.conftest import World

REFUSED = 422
SAVED_ACTION = re.compile(r"/advocacy/actions/(ACT-\d{4}-\d{4,})$")
SAVED_CAMPAIGN = re.compile(r"/advocacy/campaigns/([0-9a-f-]{36})$")


def _post(client: FlaskClient, path: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


@pytest.fixture
def lead(signed_in: Callable[[str], User]) -> User:
    return signed_in("advocacy_lead")


def _organisation(name: str) -> Organisation:
    raw = {"name": name, "kind": "ngo"}
    organisation: Organisation = records.create(factories.context(), ORGANISATION, raw)
    return organisation


def test_a_lead_starts_a_campaign_and_records_an_action_in_it(
    client: FlaskClient, world: World, lead: User, db_session: Session
) -> None:
    amnesty, memorial = _organisation("Amnesty UK"), _organisation("Memorial")
    answer = _post(
        client,
        "/advocacy/campaigns/new",
        name="Day of action for Chechnya",
        description="Protests in many cities on one day.",
        start_date="2017-05-01",
        end_date="2017-05-01",
        team=str(world.team.id),
    )
    assert answer.status_code == 302, answer.text
    found = SAVED_CAMPAIGN.search(answer.location)
    assert found is not None
    campaign_id = found.group(1)

    campaign_page = client.get(f"/advocacy/campaigns/{campaign_id}").text
    assert "Day of action for Chechnya" in campaign_page
    add = f"/advocacy/actions/new?campaign={campaign_id}"
    assert html.escape(add) in campaign_page  # "Add an action"
    form = client.get(add).text
    assert re.search(rf'<option selected value="{campaign_id}">', form), "campaign prefilled"
    assert 'type="checkbox"' in form and "Memorial" in form  # organisations to tick

    answer = _post(
        client,
        add,
        kind="protest",
        title="Protest outside the embassy in London",
        description="A vigil with candles.",
        start_date="2017-05-01",
        organisations=[str(amnesty.id), str(memorial.id)],
        target="Embassy of the Russian Federation",
        places="London",
        demands="Release the detained men.",
        participants="1,200",
        priority="high",
        status="completed",
        external_reference="",
        impact="positive",
        campaign=campaign_id,
        team=str(world.team.id),
    )
    assert answer.status_code == 302, answer.text
    found = SAVED_ACTION.search(answer.location)
    assert found is not None
    reference = found.group(1)
    action = db_session.scalars(
        select(AdvocacyAction).where(AdvocacyAction.reference == reference)
    ).one()
    assert str(action.campaign_id) == campaign_id
    assert action.participants == 1200
    assert action.priority is Priority.HIGH
    assert {o.name for o in action.organisations} == {"Amnesty UK", "Memorial"}
    assert events(db_session, AuditAction.RECORD_CREATE, action)

    listing = client.get("/advocacy/actions").text
    assert reference in listing and "Protest outside the embassy in London" in listing
    assert "Day of action for Chechnya" in listing
    detail = client.get(f"/advocacy/actions/{reference}").text
    for shown in ("Embassy of the Russian Federation", "Release the detained men.", "1,200"):
        assert shown in detail
    assert "Amnesty UK, Memorial" in detail
    assert f"/advocacy/campaigns/{campaign_id}" in detail
    assert f"/advocacy/actions/{reference}/edit" in detail
    assert 'id="history"' in detail  # the lead writes these records: the history is theirs

    campaign_page = client.get(f"/advocacy/campaigns/{campaign_id}").text
    assert reference in campaign_page and "1,200" in campaign_page
    campaigns = client.get("/advocacy/campaigns").text
    assert "Day of action for Chechnya" in campaigns and "positive" in campaigns


def test_a_lead_edits_an_action_and_the_change_is_audited(
    client: FlaskClient, world: World, lead: User, db_session: Session
) -> None:
    campaign = CampaignFactory(team_id=world.team.id, name="Letters")
    action = AdvocacyActionFactory(team_id=world.team.id, title="Petition", signatures=10)
    form = client.get(f"/advocacy/actions/{action.reference}/edit").text
    assert f'value="{campaign.id}"' in form  # the team's campaigns to choose from
    lock = re.search(r'name="lock_version" type="hidden" value="(\d+)"', form)
    assert lock is not None
    answer = _post(
        client,
        f"/advocacy/actions/{action.reference}/edit",
        kind="petition",
        title="Petition",
        start_date="2017-05-01",
        signatures="177,000",
        priority="medium",
        status="planned",
        impact="unknown",
        campaign=str(campaign.id),
        lock_version=lock.group(1),
    )
    assert answer.status_code == 302, answer.text
    db_session.refresh(action)
    assert action.signatures == 177_000 and action.campaign_id == campaign.id
    change = events(db_session, AuditAction.RECORD_UPDATE, action)[-1]
    assert sorted(change.fields) == ["campaign", "signatures"]


def test_bad_input_is_refused_with_what_was_typed_kept(
    client: FlaskClient, world: World, lead: User, db_session: Session
) -> None:
    answer = _post(
        client,
        "/advocacy/actions/new",
        kind="",
        title="Letter to the prosecutor",
        start_date="2017-06-10",
        end_date="2017-06-01",
        signatures="many",
        places="Grozny",
        team=str(world.team.id),
    )
    assert answer.status_code == REFUSED
    page = answer.text
    assert "Choose a kind of action." in page
    assert "Enter a whole number" in page
    assert 'value="Letter to the prosecutor"' in page and "Grozny</textarea>" in page
    assert 'value="many"' in page
    assert db_session.scalars(select(AdvocacyAction)).first() is None

    answer = _post(client, "/advocacy/campaigns/new", name="", team=str(world.team.id))
    assert answer.status_code == REFUSED and "Enter a name." in answer.text
    assert db_session.scalars(select(Campaign)).first() is None


def test_another_teams_campaign_cannot_be_chosen(
    client: FlaskClient, world: World, lead: User, db_session: Session
) -> None:
    theirs = CampaignFactory(team_id=world.other_team.id, name="Not ours")
    assert "Not ours" not in client.get("/advocacy/actions/new").text
    answer = _post(
        client,
        "/advocacy/actions/new",
        kind="letter",
        title="A letter",
        campaign=str(theirs.id),
        team=str(world.team.id),
    )
    assert answer.status_code == REFUSED
    assert "There is no campaign" in answer.text
    assert client.get(f"/advocacy/campaigns/{theirs.id}").status_code == 404
    other = AdvocacyActionFactory(team_id=world.other_team.id)
    assert client.get(f"/advocacy/actions/{other.reference}").status_code == 404
    assert other.reference not in client.get("/advocacy/actions").text


@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_researchers_and_auditors_read_but_do_not_edit(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], role: str
) -> None:
    campaign = CampaignFactory(team_id=world.team.id, name="Vigils")
    action = AdvocacyActionFactory(team_id=world.team.id, campaign_id=campaign.id)
    as_role(role)
    detail = client.get(f"/advocacy/actions/{action.reference}")
    assert detail.status_code == 200
    assert "/edit" not in detail.text and "Vigils" in detail.text
    campaign_page = client.get(f"/advocacy/campaigns/{campaign.id}").text
    assert action.reference in campaign_page
    assert "Add an action" not in campaign_page and "/edit" not in campaign_page
    listing = client.get("/advocacy/actions").text
    assert action.reference in listing and "Record an action" not in listing
    token = csrf_token(client, "/advocacy/actions")
    edit = f"/advocacy/actions/{action.reference}/edit"
    assert client.post(edit, data={"csrf_token": token, "title": "x"}).status_code == 403
    assert client.post("/advocacy/actions/new", data={"csrf_token": token}).status_code == 403
    assert client.post("/advocacy/campaigns/new", data={"csrf_token": token}).status_code == 403


def test_the_list_filters_and_says_what_to_do_when_empty(
    client: FlaskClient, world: World, lead: User
) -> None:
    empty = client.get("/advocacy/actions").text
    assert "No advocacy actions in your teams yet." in empty and "Record an action" in empty
    AdvocacyActionFactory(team_id=world.team.id, title="The petition", impact=Impact.POSITIVE)
    AdvocacyActionFactory(team_id=world.team.id, title="The march", kind=ActionKind.PROTEST)
    page = client.get("/advocacy/actions?kind=protest&impact=nonsense&campaign=zzz").text
    assert "The march" in page and "The petition" not in page
    assert "No actions match" in client.get("/advocacy/actions?date_to=2000-01-01").text


def test_no_case_field_reaches_the_advocacy_pages(
    client: FlaskClient, world: World, lead: User
) -> None:
    report = ReportFactory(
        team_id=world.team.id,
        incident_id=world.incident.id,
        title="CANARY-report-title-5R1",
        secrets={"narrative": "CANARY-report-narrative-8N3"},
    )
    campaign = CampaignFactory(team_id=world.team.id)
    action = AdvocacyActionFactory(team_id=world.team.id, campaign_id=campaign.id)
    factories.ActionLinkFactory(action_id=action.id, report_id=report.id)
    pages = [
        "/advocacy/actions",
        "/advocacy/actions/new",
        f"/advocacy/actions/{action.reference}",
        f"/advocacy/actions/{action.reference}/edit",
        "/advocacy/campaigns",
        f"/advocacy/campaigns/{campaign.id}",
    ]
    for path in pages:
        text = client.get(path).text
        assert "CANARY" not in text, path
