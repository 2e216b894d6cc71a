"""A user's follow-up deadlines as an iCalendar feed, read by a calendar application
without a session: the feed's address carries a random token.

Only a SHA-256 hash of the token is kept (users.calendar_token_hash), so the token is
shown once, when it is made; making a new one ends the old one. The feed says the least
that is useful: one all-day event per open follow-up with a due date assigned to the
user, titled with the action's reference and linked to the action's page — nothing of
the case, nor what the follow-up says. A token of a disabled user, or of one who no
longer reads advocacy work, opens nothing, as an unknown token does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from icalendar import Calendar, Event

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.user import User
from incidents.permissions import Permission, can, can_in_team, ensure
from incidents.repositories import action_work as follow_up_queries
from incidents.repositories import dashboard as queries

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything longer is not one
PRODUCT_ID = "-//Incidents//Follow-up deadlines//EN"
UID_DOMAIN = "follow-ups.incidents"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def has_feed(user: User) -> bool:
    return user.calendar_token_hash is not None


def may_have_feed(user: User) -> bool:
    """Whether the user's feed, if they have one, is served: active, reading advocacy work."""
    return user.is_active and can(user, Permission.ADVOCACY_READ)


def new_token(ctx: Context) -> str:
    """A new feed token for the acting user (advocacy:read), replacing any old one; the
    token itself is returned once and never stored."""
    user = ctx.user
    ensure(user, Permission.ADVOCACY_READ)
    if ctx.under_duress:  # the feed is read without a session, with the real teams
        raise ValidationError("No feed address can be made at the moment.")
    replacing = has_feed(user)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user.calendar_token_hash = _digest(token)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_CALENDAR_TOKEN_NEW,
        user,
        fields=["calendar_token_hash"],
        detail={"replaced": replacing},
    )
    ctx.session.flush()
    return token


def revoke_token(ctx: Context) -> bool:
    """Take the acting user's feed token away; False, and nothing changes, without one.
    Anyone may end their own feed, whatever their roles now."""
    user = ctx.user
    if not has_feed(user):
        return False
    user.calendar_token_hash = None
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_CALENDAR_TOKEN_REVOKE,
        user,
        fields=["calendar_token_hash"],
    )
    ctx.session.flush()
    return True


def owner_of(ctx: Context, token: str) -> User:
    """The user whose feed `token` opens; NotFound — the same for every reason — for an
    unknown token, a disabled user or one who no longer reads advocacy work."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("no such calendar")
    digest = _digest(token)
    # Looked up by its hash: what the lookup's timing could tell is about the hash, which
    # says nothing of the token; the comparison itself takes constant time.
    user = queries.user_by_calendar_hash(ctx.session, digest)
    stored = "" if user is None else (user.calendar_token_hash or "")
    if user is None or not hmac.compare_digest(stored, digest) or not may_have_feed(user):
        raise NotFound("no such calendar")
    return user


def feed(ctx: Context, token: str, site_url: str) -> bytes:
    """The iCalendar file of the follow-ups due for the owner of `token`; `site_url` is
    the address the action pages are under (e.g. "https://incidents.example.org/")."""
    user = owner_of(ctx, token)
    teams = [t for t in user.team_ids if can_in_team(user, Permission.ADVOCACY_READ, t)]
    calendar = Calendar.new(name="Follow-ups", prodid=PRODUCT_ID)
    rows = follow_up_queries.open_follow_ups(ctx.session, teams, None, assignee_id=user.id)
    for row in rows:
        follow_up = row.follow_up
        assert follow_up.due_on is not None  # the query asks for a due date
        calendar.add_component(
            Event.new(
                uid=f"{follow_up.id}@{UID_DOMAIN}",
                summary=f"Follow-up on {row.action_reference}",
                start=follow_up.due_on,
                end=follow_up.due_on + timedelta(days=1),
                stamp=follow_up.created_at,
                url=f"{site_url.rstrip('/')}/advocacy/actions/{row.action_reference}",
            )
        )
    body: bytes = calendar.to_ical()
    return body
