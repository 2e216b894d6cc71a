"""Advocacy actions and campaigns as one user sees them, on SQLite and PostgreSQL: made
through the registry (audited), listed newest first with each filter narrowing the list,
paged, kept within the user's teams; campaigns with their actions counted by outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied
from incidents.models import AdvocacyAction, Campaign, Team, User
from incidents.models.vocabularies import ActionKind, ActionStatus, Impact, Priority, Role
from incidents.records.kinds import ADVOCACY_ACTION, CAMPAIGN
from incidents.services import advocacy, records
from tests.factories import AdvocacyActionFactory, CampaignFactory, TeamFactory, UserFactory
from tests.helpers import context, events


@dataclass
class Desk:
    team: Team
    other: Team
    lead: User
    researcher: User
    admin: User


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()
    return Desk(
        team,
        other,
        UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]),
        UserFactory(role=Role.RESEARCHER, teams=[team]),
        UserFactory(role=Role.ADMIN, teams=[]),
    )


@pytest.fixture
def as_user(db_session: Session, app: Flask) -> Callable[[User], Context]:
    return lambda user: context(db_session, app, user)


def _references(page: advocacy.ActionPage) -> list[str]:
    return [row.reference for row in page.rows]


def test_a_lead_creates_a_campaign_and_an_action_through_the_registry(
    desk: Desk, as_user: Callable[[User], Context], db_session: Session
) -> None:
    ctx = as_user(desk.lead)
    campaign: Campaign = records.create(
        ctx, CAMPAIGN, {"name": "Day of action", "start_date": "2017-05-01"}, team_id=desk.team.id
    )
    action: AdvocacyAction = records.create(
        ctx,
        ADVOCACY_ACTION,
        {
            "kind": "petition",
            "title": "Petition to the embassy",
            "start_date": "2017-04-20",
            "signatures": "177,000",
            "campaign": str(campaign.id),
        },
        team_id=desk.team.id,
    )
    assert action.reference.startswith("ACT-2017-")
    assert action.campaign_id == campaign.id and action.signatures == 177_000
    created = events(db_session, AuditAction.RECORD_CREATE, action)
    assert len(created) == 1 and created[0].actor == desk.lead.email
    assert "signatures" in created[0].fields and "177000" not in str(created[0].detail)
    assert events(db_session, AuditAction.RECORD_CREATE, campaign)

    view = advocacy.view_action(ctx, advocacy.find_action(ctx, action.reference))
    assert view.campaign_name == "Day of action" and view.may_edit
    assert view.history is not None and view.history.entries[0].verb == "Created"
    assert view.created_at is None  # bookkeeping is restricted: not the lead's to read


def test_a_researcher_reads_but_may_not_write_and_sees_no_history(
    desk: Desk, as_user: Callable[[User], Context]
) -> None:
    action = AdvocacyActionFactory(team_id=desk.team.id)
    ctx = as_user(desk.researcher)
    view = advocacy.view_action(ctx, advocacy.find_action(ctx, action.reference))
    assert not view.may_edit and view.history is None
    with pytest.raises(PermissionDenied):
        records.create(ctx, ADVOCACY_ACTION, {"kind": "letter", "title": "x"}, team_id=desk.team.id)


def test_another_teams_actions_and_campaigns_do_not_exist_for_the_user(
    desk: Desk, as_user: Callable[[User], Context]
) -> None:
    ours = AdvocacyActionFactory(team_id=desk.team.id)
    theirs = AdvocacyActionFactory(team_id=desk.other.id)
    their_campaign = CampaignFactory(team_id=desk.other.id, name="Theirs")
    ctx = as_user(desk.lead)
    assert _references(advocacy.list_actions(ctx, advocacy.ActionFilters())) == [ours.reference]
    with pytest.raises(NotFound):
        advocacy.find_action(ctx, theirs.reference)
    with pytest.raises(NotFound):
        advocacy.view_campaign(ctx, their_campaign.id)
    assert advocacy.list_campaigns(ctx) == []
    assert advocacy.campaign_choices(ctx) == []
    assert advocacy.campaign_team(ctx, their_campaign.id) is None


def test_the_admin_is_refused_the_lists(desk: Desk, as_user: Callable[[User], Context]) -> None:
    ctx = as_user(desk.admin)
    with pytest.raises(PermissionDenied):
        advocacy.list_actions(ctx, advocacy.ActionFilters())
    with pytest.raises(PermissionDenied):
        advocacy.list_campaigns(ctx)


def test_each_filter_narrows_the_list(desk: Desk, as_user: Callable[[User], Context]) -> None:
    campaign = CampaignFactory(team_id=desk.team.id)
    made = {
        "plain": AdvocacyActionFactory(team_id=desk.team.id, start_date=dt.date(2017, 1, 10)),
        "protest": AdvocacyActionFactory(
            team_id=desk.team.id, kind=ActionKind.PROTEST, start_date=dt.date(2017, 3, 1)
        ),
        "completed": AdvocacyActionFactory(
            team_id=desk.team.id, status=ActionStatus.COMPLETED, start_date=dt.date(2017, 2, 1)
        ),
        "urgent": AdvocacyActionFactory(
            team_id=desk.team.id, priority=Priority.URGENT, start_date=dt.date(2017, 2, 2)
        ),
        "positive": AdvocacyActionFactory(
            team_id=desk.team.id, impact=Impact.POSITIVE, start_date=dt.date(2017, 2, 3)
        ),
        "in_campaign": AdvocacyActionFactory(
            team_id=desk.team.id, campaign_id=campaign.id, start_date=dt.date(2017, 2, 4)
        ),
        "long": AdvocacyActionFactory(
            team_id=desk.team.id, start_date=dt.date(2016, 6, 1), end_date=dt.date(2017, 6, 1)
        ),
    }
    ctx = as_user(desk.lead)

    def shown(**query: str) -> set[str]:
        filters = advocacy.ActionFilters.from_query(query)
        return {row.reference for row in advocacy.list_actions(ctx, filters).rows}

    def named(*names: str) -> set[str]:
        return {made[name].reference for name in names}

    assert shown() == named(*made)
    assert shown(kind="protest") == named("protest")
    assert shown(status="completed") == named("completed")
    assert shown(priority="urgent") == named("urgent")
    assert shown(impact="positive") == named("positive")
    assert shown(campaign=str(campaign.id)) == named("in_campaign")
    # Taking place in a range: begun by its end, not ended before its start.
    assert shown(date_from="2017-02-15", date_to="2017-03-31") == named("protest", "long")
    assert shown(date_to="2016-12-31") == named("long")
    # Values that mean nothing are dropped, not failed on.
    assert shown(kind="bribery", campaign="not-a-uuid", date_from="2017-13-40") == named(*made)


def test_the_list_is_newest_first_undated_first_and_paged(
    desk: Desk, as_user: Callable[[User], Context]
) -> None:
    undated = AdvocacyActionFactory(team_id=desk.team.id, start_date=None)
    dated = [
        AdvocacyActionFactory(team_id=desk.team.id, start_date=dt.date(2017, 5, day))
        for day in (1, 1, 2, 3)
    ]
    ctx = as_user(desk.lead)
    everything = _references(advocacy.list_actions(ctx, advocacy.ActionFilters()))
    assert everything[0] == undated.reference
    assert everything[1:3] == [dated[3].reference, dated[2].reference]
    assert set(everything[3:]) == {dated[0].reference, dated[1].reference}
    pages, after = [], None
    while True:
        page = advocacy.list_actions(ctx, advocacy.ActionFilters(), after=after, limit=2)
        pages.append(_references(page))
        after = page.next_after
        if after is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r for p in pages for r in p] == everything


def test_campaigns_count_their_actions_by_outcome(
    desk: Desk, as_user: Callable[[User], Context]
) -> None:
    day = CampaignFactory(
        team_id=desk.team.id, name="Day of action", start_date=dt.date(2017, 5, 1)
    )
    quiet = CampaignFactory(team_id=desk.team.id, name="Quiet")
    for impact, signatures, participants in (
        (Impact.POSITIVE, 100, None),
        (Impact.POSITIVE, None, 40),
        (Impact.NEGATIVE, 7, 3),
    ):
        AdvocacyActionFactory(
            team_id=desk.team.id,
            campaign_id=day.id,
            impact=impact,
            signatures=signatures,
            participants=participants,
        )
    AdvocacyActionFactory(team_id=desk.team.id)  # in no campaign
    ctx = as_user(desk.lead)
    rows = {row.name: row for row in advocacy.list_campaigns(ctx)}
    assert rows["Day of action"].actions == 3
    assert rows["Day of action"].outcomes == ((Impact.POSITIVE, 2), (Impact.NEGATIVE, 1))
    assert rows["Quiet"].actions == 0 and rows["Quiet"].outcomes == ()
    view = advocacy.view_campaign(ctx, day.id)
    assert len(view.actions) == 3 and view.signatures == 107 and view.participants == 43
    assert view.outcomes == ((Impact.POSITIVE, 2), (Impact.NEGATIVE, 1))
    assert view.may_edit and view.history is not None
    assert advocacy.view_campaign(as_user(desk.researcher), quiet.id).may_edit is False
