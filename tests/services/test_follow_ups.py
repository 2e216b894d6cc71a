"""Follow-ups: assigned only to a colleague of the action's team who works on advocacy,
marked done and undone through the registry with their version (audited, and refused
when stale), overdue when not done and due before today, and listed as due for the
dashboard — the overdue first, the user's teams only."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import EditConflict, PermissionDenied, ValidationError
from incidents.models import AdvocacyAction, Team, User
from incidents.models.vocabularies import Role
from incidents.services import advocacy_work, follow_ups
from tests.factories import AdvocacyActionFactory, FollowUpFactory, TeamFactory, UserFactory
from tests.helpers import events

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory()


@pytest.fixture
def lead(team: Team) -> User:
    return UserFactory(role=Role.ADVOCACY_LEAD, teams=[team], display_name="Lead of the team")


@pytest.fixture
def action(team: Team) -> AdvocacyAction:
    return AdvocacyActionFactory(team_id=team.id)


def _new(ctx: Context, action: AdvocacyAction, **raw: object) -> uuid.UUID:
    made = follow_ups.create(ctx, action, {"description": "Ask again.", **raw})
    return made.id


def test_a_follow_up_goes_to_a_colleague_who_works_on_advocacy(
    team: Team, lead: User, action: AdvocacyAction, context_for: Callable[..., Context]
) -> None:
    other_lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team], display_name="Another lead")
    UserFactory(role=Role.RESEARCHER, teams=[team])
    UserFactory(role=Role.ADVOCACY_LEAD, teams=[team], disabled=True)
    UserFactory(role=Role.ADVOCACY_LEAD, teams=[TeamFactory()])
    ctx = context_for(lead)
    assert [c.name for c in follow_ups.assignable(ctx, team.id)] == [
        "Another lead",
        "Lead of the team",
    ]
    made = _new(ctx, action, assignee=str(other_lead.id), due_on="2017-09-01")
    (view,) = advocacy_work.work_of(ctx, action).follow_ups
    assert (view.id, view.assignee, view.due_on) == (made, "Another lead", dt.date(2017, 9, 1))


@pytest.mark.parametrize("who", ["researcher", "other team's lead", "disabled lead", "nobody"])
def test_anyone_else_is_refused_as_assignee(
    who: str,
    team: Team,
    lead: User,
    action: AdvocacyAction,
    context_for: Callable[..., Context],
) -> None:
    chosen = {
        "researcher": lambda: UserFactory(role=Role.RESEARCHER, teams=[team]).id,
        "other team's lead": lambda: UserFactory(role=Role.ADVOCACY_LEAD, teams=[TeamFactory()]).id,
        "disabled lead": lambda: (
            UserFactory(role=Role.ADVOCACY_LEAD, teams=[team], disabled=True).id
        ),
        "nobody": uuid.uuid4,
    }[who]()
    ctx = context_for(lead)
    with pytest.raises(ValidationError) as refused:
        _new(ctx, action, assignee=str(chosen))
    assert (
        "Choose someone of this action's team who works on its advocacy"
        in (refused.value.errors["assignee"])
    )
    assert advocacy_work.work_of(ctx, action).follow_ups == ()
    fine = _new(ctx, action)
    with pytest.raises(ValidationError, match="Choose someone"):
        follow_ups.update(ctx, fine, {"assignee": str(chosen)}, lock_version=1)


def test_an_assignee_that_is_no_id_is_refused(
    lead: User, action: AdvocacyAction, context_for: Callable[..., Context]
) -> None:
    with pytest.raises(ValidationError) as refused:
        _new(context_for(lead), action, assignee="the lead")
    assert refused.value.errors == {"assignee": "Choose the assignee from the list."}


def test_done_and_undone_round_trip_through_the_registry(
    lead: User, action: AdvocacyAction, db_session: Session, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(lead)
    made = _new(ctx, action, due_on=(TODAY - dt.timedelta(days=1)).isoformat())
    (view,) = advocacy_work.work_of(ctx, action).follow_ups
    assert view.overdue and not view.done

    follow_ups.mark_done(ctx, made, view.lock_version)
    (view,) = advocacy_work.work_of(ctx, action).follow_ups
    assert view.done and not view.overdue
    assert view.done_at is not None and view.done_at.date() == TODAY
    with pytest.raises(ValidationError, match="already marked done"):
        follow_ups.mark_done(ctx, made, view.lock_version)
    with pytest.raises(EditConflict):  # shown before it was marked done
        follow_ups.mark_undone(ctx, made, view.lock_version - 1)

    follow_ups.mark_undone(ctx, made, view.lock_version)
    (view,) = advocacy_work.work_of(ctx, action).follow_ups
    assert view.overdue and view.done_at is None
    changes = events(db_session, AuditAction.RECORD_UPDATE, target=view)
    assert [event.fields for event in changes] == [["done_at"], ["done_at"]]


def test_only_an_advocacy_lead_of_the_team_marks_a_follow_up_done(
    team: Team, action: AdvocacyAction, context_for: Callable[..., Context]
) -> None:
    made = FollowUpFactory(action_id=action.id)
    for role in (Role.RESEARCHER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            follow_ups.mark_done(context_for(UserFactory(role=role, teams=[team])), made.id, 1)


@pytest.mark.parametrize(
    ("due", "done", "overdue"),
    [
        (-1, False, True),
        (0, False, False),
        (3, False, False),
        (-1, True, False),
        (None, False, False),
    ],
)
def test_overdue_is_not_done_and_due_before_today(
    due: int | None, done: bool, overdue: bool, action: AdvocacyAction
) -> None:
    made = FollowUpFactory(
        action_id=action.id,
        due_on=None if due is None else TODAY + dt.timedelta(days=due),
        done_at=dt.datetime.now(dt.UTC) if done else None,
    )
    assert follow_ups.is_overdue(made) is overdue


def test_follow_ups_due_lists_the_open_ones_of_the_users_teams_overdue_first(
    team: Team, lead: User, action: AdvocacyAction, context_for: Callable[..., Context]
) -> None:
    def due_in(days: int | None, on: AdvocacyAction = action, **more: object) -> uuid.UUID:
        when = None if days is None else TODAY + dt.timedelta(days=days)
        return FollowUpFactory(action_id=on.id, due_on=when, description=f"in {days}", **more).id

    soon, late, today = due_in(5), due_in(-3), due_in(0)
    far = due_in(20)  # beyond the window
    due_in(None)  # no date
    due_in(-10, done_at=dt.datetime.now(dt.UTC))  # done
    due_in(-5, AdvocacyActionFactory(team_id=TeamFactory().id))  # another team's

    due = follow_ups.follow_ups_due(context_for(lead))
    assert [f.id for f in due] == [late, today, soon]
    assert [f.overdue for f in due] == [True, False, False]
    assert due[1].due_today
    assert {f.action_reference for f in due} == {action.reference}
    wider = follow_ups.follow_ups_due(context_for(lead), within_days=30)
    assert [f.id for f in wider] == [late, today, soon, far]
    admin = UserFactory(role=Role.ADMIN)
    assert follow_ups.follow_ups_due(context_for(admin)) == []
