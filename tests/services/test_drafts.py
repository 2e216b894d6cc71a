"""Drafts kept when a session times out (issue 10, "never lose typing"), on SQLite and
PostgreSQL: sealed at rest, kept only from a session that has just timed out, given back
once and only to the same user, discarded after draft_lifetime_hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import PermissionDenied
from incidents.models import DataKey, Draft, User
from incidents.services import drafts, sessions
from tests.factories import UserFactory
from tests.helpers import events

ContextFor = Callable[..., Context]
PATH = "/people/new"
CANARY = "Canary 5d1e: Мовсар Демоев, Grozny — 🕊️"
FIELDS = [
    ("full_name", CANARY),
    ("aliases", "Movsar D.\nМовсар"),
    ("gender", "male"),
    ("aliases-0", "a list entry"),
]
POLICY = sessions.SessionPolicy.from_minutes(30, 12, 10)


def _timed_out_session(
    context_for: ContextFor, user: User, reason: str = sessions.EndReason.IDLE
) -> tuple[str, datetime]:
    """A session of `user` started long ago, found timed out (and so ended) just now by
    a request; its token and that moment."""
    nobody = context_for(None)
    expired = reason == sessions.EndReason.EXPIRED
    started = utcnow() - (timedelta(hours=13) if expired else timedelta(hours=1))
    token, row = sessions.start_session(nobody, user, "tests", now=started)
    if expired:  # active until a minute ago, but logged in longer than allowed
        row.last_seen_at = utcnow() - timedelta(minutes=1)
    now = utcnow()
    assert sessions.resolve_session(nobody, token, POLICY, now) is None
    assert row.end_reason == reason
    return token, now


def _kept(context_for: ContextFor, user: User, **settings: object) -> tuple[Draft, datetime]:
    token, now = _timed_out_session(context_for, user)
    draft = drafts.keep(context_for(None, **settings), token, PATH, FIELDS, now)
    assert draft is not None
    return draft, now


def _drafts(db_session: Session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(Draft)) or 0)


def _draft_keys(db_session: Session) -> int:
    return int(
        db_session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.record_table == "drafts")
        )
        or 0
    )


@pytest.mark.parametrize("reason", [sessions.EndReason.IDLE, sessions.EndReason.EXPIRED])
def test_a_draft_is_sealed_at_rest_and_given_back_once(
    db_session: Session, context_for: ContextFor, reason: str
) -> None:
    user = UserFactory()
    token, now = _timed_out_session(context_for, user, reason)
    draft = drafts.keep(context_for(None), token, PATH, FIELDS, now)
    assert draft is not None
    db_session.flush()
    db_session.expire_all()

    row = db_session.execute(select(Draft.__table__).where(Draft.id == draft.id)).one()
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
    for _name, value in FIELDS:
        for text in (value, *(word for word in value.split() if len(word) >= 5)):
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                assert text.encode(encoding) not in stored, f"{text!r} is stored as it is"
    assert row.path == PATH and row.user_id == user.id
    assert row.expires_at - row.created_at == timedelta(hours=12)
    assert _draft_keys(db_session) == 1

    assert drafts.restore(context_for(user), PATH) == FIELDS
    assert drafts.restore(context_for(user), PATH) is None, "a draft was given back twice"
    db_session.flush()
    assert _drafts(db_session) == 0
    assert _draft_keys(db_session) == 0, "a restored draft's data key is left"


def test_only_the_same_user_gets_it_back(db_session: Session, context_for: ContextFor) -> None:
    owner, other = UserFactory(), UserFactory()
    _kept(context_for, owner)
    assert drafts.restore(context_for(other), PATH) is None
    assert drafts.restore(context_for(owner), "/people/other") is None  # another page
    with pytest.raises(PermissionDenied):
        drafts.restore(context_for(None), PATH)  # nobody logged in
    assert drafts.restore(context_for(owner), PATH) == FIELDS


def test_a_draft_moved_to_another_user_does_not_open(
    db_session: Session, context_for: ContextFor
) -> None:
    """Its data key and content are bound to its user: changing the row's user (as someone
    with write access to the database could) gives the other user nothing."""
    owner, other = UserFactory(), UserFactory()
    draft, _now = _kept(context_for, owner)
    db_session.flush()
    db_session.execute(update(Draft).where(Draft.id == draft.id).values(user_id=other.id))
    db_session.expire_all()
    assert drafts.restore(context_for(other), PATH) is None
    assert _drafts(db_session) == 0, "a draft that cannot be opened is discarded"


def test_a_draft_expires_after_the_configured_lifetime(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    _draft, now = _kept(context_for, user, draft_lifetime_hours=2)
    almost = now + timedelta(hours=2) - timedelta(seconds=1)
    assert drafts.purge_expired(context_for(None), almost) == 0
    assert drafts.restore(context_for(user), PATH, now + timedelta(hours=2)) is None
    assert _drafts(db_session) == 0 and _draft_keys(db_session) == 0


def test_expired_drafts_of_everyone_are_purged_with_their_keys(
    db_session: Session, context_for: ContextFor
) -> None:
    first, second = UserFactory(), UserFactory()
    _kept(context_for, first)
    _kept(context_for, second)
    assert _drafts(db_session) == 2 and _draft_keys(db_session) == 2
    assert drafts.purge_expired(context_for(None), utcnow() + timedelta(hours=11)) == 0
    assert drafts.purge_expired(context_for(None), utcnow() + timedelta(hours=12, seconds=1)) == 2
    assert _drafts(db_session) == 0 and _draft_keys(db_session) == 0


@pytest.mark.parametrize(
    "reason",
    [
        sessions.EndReason.LOGOUT,
        sessions.EndReason.PASSWORD,
        sessions.EndReason.ROLES,
        sessions.EndReason.DISABLED,
        sessions.EndReason.ENDED_BY_USER,
    ],
)
def test_a_session_ended_for_another_reason_keeps_nothing(
    db_session: Session, context_for: ContextFor, reason: str
) -> None:
    user = UserFactory()
    token, row = sessions.start_session(context_for(None), user, "tests")
    sessions.end_session(row, reason)
    assert drafts.keep(context_for(None), token, PATH, FIELDS) is None
    assert _drafts(db_session) == 0


def test_only_a_session_that_has_just_timed_out_keeps_a_draft(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    live, _row = sessions.start_session(context_for(None), user, "tests")
    assert drafts.keep(context_for(None), live, PATH, FIELDS) is None, "a live session"
    assert drafts.keep(context_for(None), "no such token", PATH, FIELDS) is None
    assert drafts.keep(context_for(None), None, PATH, FIELDS) is None
    token, now = _timed_out_session(context_for, user)
    later = now + drafts.JUST_ENDED + timedelta(seconds=1)
    assert drafts.keep(context_for(None), token, PATH, FIELDS, later) is None, "long ended"
    assert drafts.keep(context_for(None), token, PATH, [], now) is None, "nothing to keep"
    user.is_active = False
    assert drafts.keep(context_for(None), token, PATH, FIELDS, now) is None, "disabled since"
    assert _drafts(db_session) == 0


def test_keeping_and_restoring_are_audited_without_values(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    draft, _now = _kept(context_for, user)
    (kept,) = events(db_session, "draft.keep")
    assert (kept.actor, kept.actor_id) == (user.email, user.id)
    assert kept.target_table == "drafts" and kept.target_id == str(draft.id)
    assert kept.fields == ["aliases", "aliases-0", "full_name", "gender"]
    assert kept.detail == {"path": PATH}
    assert drafts.restore(context_for(user), PATH) is not None
    (restored,) = events(db_session, "draft.restore")
    assert restored.target_id == str(draft.id) and restored.actor_id == user.id
    assert restored.fields == kept.fields and restored.detail == {"path": PATH}
    for event in (kept, restored):
        text = repr((event.fields, event.detail, event.target_ref))
        assert CANARY not in text and "Movsar" not in text


def test_one_draft_per_page_the_newest_wins(db_session: Session, context_for: ContextFor) -> None:
    user = UserFactory()
    _kept(context_for, user)
    token, now = _timed_out_session(context_for, user)
    newer = [("full_name", "typed later")]
    assert drafts.keep(context_for(None), token, PATH, newer, now) is not None
    assert _drafts(db_session) == 1 and _draft_keys(db_session) == 1
    assert drafts.restore(context_for(user), PATH) == newer


def test_a_users_drafts_are_bounded_in_number_and_size(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    token, now = _timed_out_session(context_for, user)
    for number in range(drafts.MAX_DRAFTS_PER_USER + 3):
        moment = now + timedelta(milliseconds=number)
        kept = drafts.keep(context_for(None), token, f"/page/{number}", FIELDS, moment)
        assert kept is not None
    db_session.flush()
    assert _drafts(db_session) == drafts.MAX_DRAFTS_PER_USER
    assert _draft_keys(db_session) == drafts.MAX_DRAFTS_PER_USER
    assert drafts.restore(context_for(user), "/page/0") is None, "the oldest went first"
    assert drafts.restore(context_for(user), f"/page/{drafts.MAX_DRAFTS_PER_USER + 2}")

    huge = [("narrative", "x" * drafts.MAX_DRAFT_BYTES)]
    assert drafts.keep(context_for(None), token, "/huge", huge, now) is None
    assert drafts.keep(context_for(None), token, "/" + "p" * 500, FIELDS, now) is None


def test_the_events_of_a_draft_do_not_name_the_record_it_was_about(
    db_session: Session, context_for: ContextFor
) -> None:
    """A draft has no team, so every team's auditors see its events: the page, not the
    person or report, is named."""
    user = UserFactory()
    token, now = _timed_out_session(context_for, user)
    drafts.keep(context_for(None), token, "/people/PER-0042/edit", FIELDS, now)
    (kept,) = events(db_session, "draft.keep")
    assert kept.detail == {"path": "/people/…/edit"}
    assert "PER-0042" not in repr((kept.detail, kept.target_ref))
