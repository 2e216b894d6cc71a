"""Duress passwords: a second password that a user under coercion gives instead of
their own.

Logging in with it looks like any login (the second factor is asked for as usual) and
opens a duress session: its user belongs to no team for the session's requests
(User.team_ids, so every case list is empty and every case page is not found), holds
none of the powers that reach past teams (permissions.BEYOND_TEAMS), and changes no
credential of the account. The login ends every other session of the user, locks the
real password (which then fails as a wrong one does) until an administrator unlocks the
account, and leaves an alert in the audit log, shown to administrators on the users page.
"""

from __future__ import annotations

from datetime import datetime

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.user import User
from incidents.repositories import accounts as account_queries
from incidents.services import passwords, sessions
from incidents.services.accounts import ensure_manager, hash_password, personal_words
from incidents.sqlite_locking import write_lock_released

SAME_AS_PASSWORD = "Choose a duress password different from your password."  # noqa: S105


def has_duress_password(ctx: Context) -> bool:
    """Whether the acting user has a duress password; a duress session says no."""
    return ctx.user.duress_password_hash is not None and not ctx.under_duress


def set_duress_password(ctx: Context, duress_password: str) -> None:
    """Set (or replace) the acting user's duress password (the page asks for the password
    again first); it follows the rules of any password and is not the real one.

    A duress session changes no credential: it is refused as if the new password were
    the account's own, which says nothing of the session being one.
    """
    user = ctx.user
    if ctx.under_duress:
        raise ValidationError.on("duress_password", SAME_AS_PASSWORD)
    with write_lock_released(ctx.session) as released:
        same = passwords.verify_password(user.password_hash, duress_password)
        hashed = None if same else _hashed(user, duress_password)
    if released:
        ctx.session.refresh(user)
    if hashed is None:  # it is the account's own password
        raise ValidationError.on("duress_password", SAME_AS_PASSWORD)
    replacing = user.duress_password_hash is not None
    user.duress_password_hash = hashed
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_DURESS_PASSWORD_SET,
        user,
        fields=["duress_password_hash"],
        detail={"replaced": replacing},
    )


def _hashed(user: User, duress_password: str) -> str:
    words = personal_words(user.email, user.display_name)
    return hash_password(duress_password, words, "duress_password")


def remove_duress_password(ctx: Context) -> bool:
    """Remove the acting user's duress password; False, and nothing changes, without one
    (as a duress session is told)."""
    user = ctx.user
    if ctx.under_duress or user.duress_password_hash is None:
        return False
    user.duress_password_hash = None
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_DURESS_PASSWORD_REMOVE,
        user,
        fields=["duress_password_hash"],
    )
    return True


def record_duress_login(
    ctx: Context, user: User, second_factor: str | None, now: datetime | None = None
) -> None:
    """A login with the duress password has passed every step: end the user's other
    sessions, lock the real password and raise the alert (before the duress session
    starts, so that it is not among those ended)."""
    now = now or utcnow()
    account_queries.end_open_sessions(ctx.session, user.id, now, sessions.EndReason.DURESS)
    if user.password_locked_at is None:
        user.password_locked_at = now
    user.last_login_at = now  # as after any login: the account page shows nothing unusual
    record_event(
        ctx.session,
        ctx.acting_as(user).actor,
        AuditAction.ACCOUNT_DURESS_LOGIN,
        user,
        fields=["password_locked_at"],
        detail={"second_factor": second_factor},
    )


def locked_accounts(ctx: Context) -> list[User]:
    """The accounts whose password a duress login locked, most recent first (administrators)."""
    ensure_manager(ctx)
    locked = [
        (user.password_locked_at, user)
        for user in account_queries.all_users(ctx.session)
        if user.password_locked_at is not None
    ]
    return [user for _, user in sorted(locked, key=lambda pair: pair[0], reverse=True)]


def unlock(ctx: Context, user: User) -> bool:
    """An administrator lets `user`'s password work again; False when it was not locked."""
    ensure_manager(ctx)
    if user.password_locked_at is None:
        return False
    locked_at = user.password_locked_at
    user.password_locked_at = None
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.ACCOUNT_UNLOCK,
        user,
        fields=["password_locked_at"],
        detail={"locked_at": locked_at.isoformat()},
    )
    return True
