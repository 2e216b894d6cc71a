"""Server-side sessions (services/sessions.py): tokens, timeouts, ending them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import User, UserSession
from incidents.services import sessions
from incidents.services.sessions import EndReason, SessionPolicy
from tests.factories import UserFactory

POLICY = SessionPolicy.from_minutes(idle=30, absolute_hours=12, reauth=10)
ContextFor = Callable[..., Context]


@pytest.fixture
def user(db_session: Session) -> User:
    return UserFactory()


def test_the_token_is_random_and_only_its_hash_is_stored(
    db_session: Session, ctx: Context, user: User
) -> None:
    token, row = sessions.start_session(ctx, user, "Firefox")
    other_token, _ = sessions.start_session(ctx, user)
    assert token != other_token and len(token) >= 40
    stored = db_session.execute(select(UserSession.__table__)).all()
    assert token not in repr(stored)
    assert row.token_hash == sessions.hash_token(token)
    assert row.created_at == row.last_seen_at == row.confirmed_at
    assert row.user_agent == "Firefox" and row.ended_at is None


def test_resolve_finds_the_open_session_of_the_token(ctx: Context, user: User) -> None:
    token, row = sessions.start_session(ctx, user)
    assert sessions.resolve_session(ctx, token, POLICY) is row
    assert sessions.resolve_session(ctx, token + "x", POLICY) is None
    assert sessions.resolve_session(ctx, "", POLICY) is None
    assert sessions.resolve_session(ctx, None, POLICY) is None


def test_an_ended_session_does_not_resolve(ctx: Context, user: User) -> None:
    token, row = sessions.start_session(ctx, user)
    sessions.end_session(row, EndReason.LOGOUT)
    ended_at = row.ended_at
    assert sessions.resolve_session(ctx, token, POLICY) is None
    sessions.end_session(row, EndReason.IDLE)  # ending again keeps the first end
    assert (row.ended_at, row.end_reason) == (ended_at, EndReason.LOGOUT)


def test_the_idle_timeout(ctx: Context, user: User) -> None:
    start = utcnow()
    token, row = sessions.start_session(ctx, user, now=start)
    just_within = start + POLICY.idle - timedelta(seconds=1)
    assert sessions.resolve_session(ctx, token, POLICY, now=just_within) is row
    assert row.last_seen_at == just_within  # activity restarts the idle clock
    later = just_within + POLICY.idle - timedelta(seconds=1)
    assert sessions.resolve_session(ctx, token, POLICY, now=later) is row
    assert sessions.resolve_session(ctx, token, POLICY, now=later + POLICY.idle) is None
    assert row.end_reason == EndReason.IDLE and row.ended_at == later + POLICY.idle


def test_the_absolute_timeout_ends_even_an_active_session(ctx: Context, user: User) -> None:
    start = utcnow()
    token, row = sessions.start_session(ctx, user, now=start)
    now = start
    while now + POLICY.idle / 2 < start + POLICY.absolute:
        now += POLICY.idle / 2  # a request every quarter of an hour
        assert sessions.resolve_session(ctx, token, POLICY, now=now) is row
    assert sessions.resolve_session(ctx, token, POLICY, now=start + POLICY.absolute) is None
    assert row.end_reason == EndReason.EXPIRED


def test_last_seen_is_written_at_most_once_a_minute(ctx: Context, user: User) -> None:
    start = utcnow()
    token, row = sessions.start_session(ctx, user, now=start)
    sessions.resolve_session(ctx, token, POLICY, now=start + timedelta(seconds=59))
    assert row.last_seen_at == start
    sessions.resolve_session(ctx, token, POLICY, now=start + timedelta(seconds=60))
    assert row.last_seen_at == start + timedelta(seconds=60)


def test_a_disabled_users_session_ends_at_its_next_request(ctx: Context, user: User) -> None:
    token, row = sessions.start_session(ctx, user)
    user.is_active = False
    assert sessions.resolve_session(ctx, token, POLICY) is None
    assert row.end_reason == EndReason.DISABLED


def test_end_all_and_end_other_sessions(
    db_session: Session, ctx: Context, context_for: ContextFor, user: User
) -> None:
    someone_else = UserFactory()
    _, theirs = sessions.start_session(ctx, someone_else)
    rows = [sessions.start_session(ctx, user)[1] for _ in range(3)]
    assert sessions.end_other_sessions(context_for(user), rows[0]) == 2
    assert sessions.open_sessions(ctx, user) == [rows[0]]
    assert [r.end_reason for r in rows[1:]] == [EndReason.ENDED_BY_USER] * 2
    assert sessions.end_all_sessions(ctx, user, EndReason.PASSWORD) == 1
    assert sessions.open_sessions(ctx, user) == []
    db_session.refresh(rows[0])
    assert rows[0].end_reason == EndReason.PASSWORD
    assert sessions.end_all_sessions(ctx, user, EndReason.PASSWORD) == 0
    assert sessions.open_sessions(ctx, someone_else) == [theirs]


def test_recent_confirmation(ctx: Context, user: User) -> None:
    start = utcnow()
    _, row = sessions.start_session(ctx, user, now=start)
    assert sessions.recently_confirmed(
        row, POLICY, now=start + POLICY.reauth - timedelta(milliseconds=1)
    )
    assert not sessions.recently_confirmed(row, POLICY, now=start + POLICY.reauth)
    sessions.confirm(row, now=start + POLICY.reauth)
    assert sessions.recently_confirmed(row, POLICY, now=start + POLICY.reauth)


def test_timed_out_sessions_are_not_listed_as_open(ctx: Context) -> None:
    """A timed-out row is ended only when its cookie comes back; lists must not show it."""
    user = UserFactory()
    now = utcnow()
    _, fresh = sessions.start_session(ctx, user, "fresh", now=now)
    sessions.start_session(ctx, user, "idle", now=now - POLICY.idle)
    _, old = sessions.start_session(ctx, user, "old", now=now - POLICY.absolute)
    old.last_seen_at = now
    assert {r.user_agent for r in sessions.open_sessions(ctx, user)} == {
        "fresh",
        "idle",
        "old",
    }
    assert sessions.open_sessions(ctx, user, POLICY, now) == [fresh]
