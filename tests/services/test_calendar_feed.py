"""The follow-up calendar feed on SQLite and PostgreSQL: a token shown once and kept only
as a hash; a feed of the user's own open follow-ups with a due date, titled with the
action's reference only; a replaced, revoked, disabled or demoted token opens nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied
from incidents.models import Team, User, UserRole
from incidents.models.vocabularies import Role
from incidents.services import calendar_feed
from tests.factories import AdvocacyActionFactory, FollowUpFactory, TeamFactory, UserFactory
from tests.helpers import events

ContextFor = Callable[..., Context]
SITE = "https://incidents.example.org/"
CANARY = "CANARY-follow-up-text-5T1"


@pytest.fixture
def team(ctx: Context) -> Team:
    return TeamFactory()


@pytest.fixture
def lead(team: Team) -> User:
    return UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])


def _events(body: bytes) -> list[dict[str, object]]:
    calendar = Calendar.from_ical(body)
    return [
        {
            "uid": str(e["UID"]),
            "summary": str(e["SUMMARY"]),
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "url": str(e["URL"]),
        }
        for e in calendar.walk("VEVENT")
    ]


def test_the_token_is_kept_only_as_its_hash_and_audited(
    db_session: Session, lead: User, context_for: ContextFor
) -> None:
    token = calendar_feed.new_token(context_for(lead))

    assert len(token) >= 43
    assert lead.calendar_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (lead.calendar_token_hash or "")
    (event,) = events(db_session, action=AuditAction.USER_CALENDAR_TOKEN_NEW, target=lead)
    assert event.detail == {"replaced": False}
    assert token not in str(event.detail)


def test_the_feed_lists_only_the_users_open_follow_ups_with_a_due_date(
    team: Team, lead: User, context_for: ContextFor
) -> None:
    colleague = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    action = AdvocacyActionFactory(team_id=team.id)
    mine = FollowUpFactory(
        action_id=action.id, assignee_id=lead.id, due_on=dt.date(2017, 7, 1), description=CANARY
    )
    FollowUpFactory(action_id=action.id, assignee_id=lead.id, due_on=None)
    FollowUpFactory(
        action_id=action.id,
        assignee_id=lead.id,
        due_on=dt.date(2017, 6, 1),
        done_at=dt.datetime(2017, 6, 2, tzinfo=dt.UTC),
    )
    FollowUpFactory(action_id=action.id, assignee_id=colleague.id, due_on=dt.date(2017, 7, 2))
    # A team the user is not (or no longer) in.
    away = AdvocacyActionFactory(team_id=TeamFactory().id)
    FollowUpFactory(action_id=away.id, assignee_id=lead.id, due_on=dt.date(2017, 7, 3))
    ctx = context_for(lead)
    token = calendar_feed.new_token(ctx)

    body = calendar_feed.feed(context_for(None), token, SITE)

    assert _events(body) == [
        {
            "uid": f"{mine.id}@{calendar_feed.UID_DOMAIN}",
            "summary": f"Follow-up on {action.reference}",
            "start": dt.date(2017, 7, 1),
            "end": dt.date(2017, 7, 2),
            "url": f"https://incidents.example.org/advocacy/actions/{action.reference}",
        }
    ]
    assert CANARY.encode() not in body
    assert action.title.encode() not in body
    # The same follow-up keeps its UID from one reading to the next.
    assert _events(calendar_feed.feed(context_for(None), token, SITE))[0]["uid"] == str(
        _events(body)[0]["uid"]
    )


def test_a_new_token_ends_the_old_one(
    db_session: Session, lead: User, context_for: ContextFor
) -> None:
    ctx = context_for(lead)
    old = calendar_feed.new_token(ctx)
    new = calendar_feed.new_token(ctx)

    assert old != new
    with pytest.raises(NotFound):
        calendar_feed.feed(ctx, old, SITE)
    assert calendar_feed.feed(ctx, new, SITE).startswith(b"BEGIN:VCALENDAR")
    replaced = events(db_session, action=AuditAction.USER_CALENDAR_TOKEN_NEW, target=lead)
    assert [e.detail for e in replaced] == [{"replaced": False}, {"replaced": True}]


def test_revoking_ends_the_feed(db_session: Session, lead: User, context_for: ContextFor) -> None:
    ctx = context_for(lead)
    token = calendar_feed.new_token(ctx)

    assert calendar_feed.revoke_token(ctx) is True
    assert lead.calendar_token_hash is None
    with pytest.raises(NotFound):
        calendar_feed.feed(ctx, token, SITE)
    assert calendar_feed.revoke_token(ctx) is False  # nothing left to revoke
    assert len(events(db_session, action=AuditAction.USER_CALENDAR_TOKEN_REVOKE, target=lead)) == 1


def test_a_disabled_or_demoted_user_or_an_unknown_token_opens_nothing(
    db_session: Session, lead: User, context_for: ContextFor
) -> None:
    token = calendar_feed.new_token(context_for(lead))
    anyone = context_for(None)
    for bad in ("", "x" * 43, token + "x", "y" * 500):
        with pytest.raises(NotFound):
            calendar_feed.feed(anyone, bad, SITE)

    lead.is_active = False
    db_session.flush()
    with pytest.raises(NotFound):
        calendar_feed.feed(anyone, token, SITE)

    lead.is_active = True
    lead.roles = [UserRole(role=Role.ADMIN)]  # no advocacy:read any more
    db_session.flush()
    with pytest.raises(NotFound):
        calendar_feed.feed(anyone, token, SITE)


def test_only_readers_of_advocacy_work_get_a_feed(context_for: ContextFor, team: Team) -> None:
    admin = UserFactory(role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        calendar_feed.new_token(context_for(admin))
    assert admin.calendar_token_hash is None
    with pytest.raises(PermissionDenied):
        calendar_feed.new_token(context_for(None))
