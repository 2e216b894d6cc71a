"""Server-side sessions: the browser holds a random token, the database decides.

Ending a row ends the session wherever the cookie is, which is what lets logout, a
password, role or two-factor change and disabling an account end every session of a
user at once. Timeouts are checked on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.context import Context
from incidents.db import utcnow
from incidents.models.user import User, UserSession
from incidents.permissions import Permission, ensure
from incidents.repositories import accounts as account_queries

# last_seen_at is written at most this often, so reading pages is not a write per request;
# the idle timeout is therefore exact to within this much.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class EndReason:
    LOGOUT = "logout"
    IDLE = "idle"
    EXPIRED = "expired"
    PASSWORD = "password"  # noqa: S105 (a reason, not a password)
    ROLES = "roles"
    TWO_FACTOR = "two-factor"
    DISABLED = "disabled"
    ENDED_BY_USER = "ended-by-user"
    QUICK_EXIT = "quick-exit"
    DURESS = "duress"  # another session of the user was opened with the duress password


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    reauth: timedelta

    @classmethod
    def from_minutes(cls, idle: int, absolute_hours: int, reauth: int) -> SessionPolicy:
        return cls(
            timedelta(minutes=idle), timedelta(hours=absolute_hours), timedelta(minutes=reauth)
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    ctx: Context,
    user: User,
    user_agent: str = "",
    now: datetime | None = None,
    duress: bool = False,
) -> tuple[str, UserSession]:
    """A new session for `user`, who has just proved who they are (the login boundary asks
    for it, before anyone is logged in); returns the token for the cookie (never stored)
    and the row. A `duress` session was opened with the duress password."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        confirmed_at=now,
        user_agent=user_agent[:200],
        duress=duress,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return token, row


def end_session(row: UserSession, reason: str, now: datetime | None = None) -> None:
    if row.ended_at is None:
        row.ended_at = now or utcnow()
        row.end_reason = reason


def end_all_sessions(ctx: Context, user: User, reason: str, now: datetime | None = None) -> int:
    """End every open session of `user` (one's own, or anyone's for an administrator);
    returns how many there were. The callers are the changes that require it (password,
    roles, second factor, disabling, logging out)."""
    _ensure_own_or_managed(ctx, user)
    return account_queries.end_open_sessions(ctx.session, user.id, now or utcnow(), reason)


def _ensure_own_or_managed(ctx: Context, user: User) -> None:
    if not (isinstance(ctx.principal, User) and ctx.principal.id == user.id):
        ensure(ctx.principal, Permission.USERS_MANAGE)


def end_other_sessions(ctx: Context, keep: UserSession) -> int:
    """End every open session of the acting user but `keep` (the browser asking)."""
    others = [row for row in open_sessions(ctx, ctx.user) if row.id != keep.id]
    for row in others:
        end_session(row, EndReason.ENDED_BY_USER)
    return len(others)


def resolve_session(
    ctx: Context, token: str | None, policy: SessionPolicy, now: datetime | None = None
) -> UserSession | None:
    """The open session behind `token`, or None; ends it first if it has timed out.

    The caller commits: ending a timed-out row and refreshing last_seen_at are writes.
    """
    if not token:
        return None
    row = account_queries.session_by_token_hash(ctx.session, hash_token(token))
    if row is None or row.ended_at is not None:
        return None
    now = now or utcnow()
    if not row.user.is_active:
        end_session(row, EndReason.DISABLED, now)
        return None
    if now - row.created_at >= policy.absolute:
        end_session(row, EndReason.EXPIRED, now)
        return None
    if now - row.last_seen_at >= policy.idle:
        end_session(row, EndReason.IDLE, now)
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return row


def confirm(row: UserSession, now: datetime | None = None) -> None:
    """The user has just entered their password again in this session."""
    row.confirmed_at = now or utcnow()


def recently_confirmed(
    row: UserSession, policy: SessionPolicy, now: datetime | None = None
) -> bool:
    return (now or utcnow()) - row.confirmed_at < policy.reauth


def open_sessions(
    ctx: Context, user: User, policy: SessionPolicy | None = None, now: datetime | None = None
) -> list[UserSession]:
    """The user's sessions that have not ended; with `policy`, not those that have timed
    out either (a timed-out row is ended only when its cookie comes back). Another user's
    sessions are for administrators."""
    _ensure_own_or_managed(ctx, user)
    rows = account_queries.open_sessions(ctx.session, user.id)
    if policy is None:
        return rows
    now = now or utcnow()
    return [
        row
        for row in rows
        if now - row.created_at < policy.absolute and now - row.last_seen_at < policy.idle
    ]
