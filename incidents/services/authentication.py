"""Logging in and out, and a user's own password: what happens before and around a login.

A failed attempt is recorded without the e-mail typed (it may be a password typed in the
wrong box); a failed second factor names the account, whose password was right.

Every login checks the password typed against both the account's password and its
duress password (incidents/services/duress.py), or an unmatchable hash in place of
either, so the time taken says nothing of which matched or whether one is set.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.user import User
from incidents.records.inputs import parse_id
from incidents.repositories import accounts as account_queries
from incidents.services import passwords
from incidents.services.accounts import change_password, normalise_email
from incidents.sqlite_locking import write_lock_released

# The password step is good for this long while the second factor is entered.
PENDING_SECONDS = 300


@dataclass(frozen=True)
class Login:
    """A password step passed: whose, and whether with the duress password."""

    user: User
    duress: bool


def check_login(ctx: Context, email: str, password: str) -> Login | None:
    """The active user with this e-mail and either of their passwords, else None (same
    cost either way). The real password of an account locked by a duress login fails as
    a wrong one does; the duress password goes on working.

    The hashes are checked with SQLite's write lock let go (incidents/sqlite_locking.py);
    when it was, the account is read again before anything is written for it, and a
    password changed meanwhile is not the one that was checked.
    """
    user = account_queries.user_by_email(ctx.session, normalise_email(email))
    checked = user.password_hash if user else None
    duress_checked = user.duress_password_hash if user else None
    with write_lock_released(ctx.session) as released:
        right = passwords.verify_password(checked, password)
        under_duress = passwords.verify_password(duress_checked, password)
        renewed = passwords.rehash(password) if right and _outdated(checked) else None
    if user is None or not (right or under_duress):
        return None
    if released:
        ctx.session.refresh(user)
    if not user.is_active or (user.password_hash, user.duress_password_hash) != (
        checked,
        duress_checked,
    ):
        return None
    if under_duress:
        return Login(user, duress=True)
    if user.password_locked_at is not None:
        return None
    if renewed is not None:
        user.password_hash = renewed
    return Login(user, duress=False)


def authenticate(ctx: Context, email: str, password: str) -> User | None:
    """The active user with this e-mail and their real password, else None."""
    login = check_login(ctx, email, password)
    return login.user if login is not None and not login.duress else None


def _outdated(password_hash: str | None) -> bool:
    return password_hash is not None and passwords.needs_rehash(password_hash)


def start_pending_login(
    user: User, target: str | None, now: float | None = None, duress: bool = False
) -> dict[str, object]:
    """What the browser holds between the password step and the second factor: who, when,
    and which password was right (so that a password changed meanwhile voids it).

    The cookie is signed, not encrypted: which of the two passwords was right is held as
    a digest of its hash, which no one without the database can tell from the other's.
    """
    return {
        "user": str(user.id),
        "email": user.email,
        "password": _password_version(user),
        "proof": _proof(user.duress_password_hash if duress else user.password_hash),
        "at": time.time() if now is None else now,
        "next": target,
    }


def _proof(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()


def pending_login(ctx: Context, pending: object, now: float | None = None) -> User | None:
    """The user whose password step `pending` records, if it is recent, the account is
    active with a second factor, and the password has not changed since; else None."""
    if not isinstance(pending, dict):
        return None
    moment = time.time() if now is None else now
    try:
        if moment - float(pending.get("at", 0)) > PENDING_SECONDS:
            return None
    except (TypeError, ValueError):
        return None
    user_id = pending.get("user")
    key = user_id if isinstance(user_id, uuid.UUID) else parse_id(str(user_id))
    user = None if key is None else account_queries.user_by_id(ctx.session, key)
    if user is None or not user.is_active or not user.has_two_factor:
        return None
    if pending.get("password") != _password_version(user):
        return None
    if pending_is_duress(user, pending):
        return user
    proof = pending.get("proof")
    right = proof == _proof(user.password_hash) and user.password_locked_at is None
    return user if right else None


def pending_is_duress(user: User, pending: object) -> bool:
    """Whether the password step `pending` of `user` was passed with the duress password."""
    duress_hash = user.duress_password_hash
    return (
        isinstance(pending, dict)
        and duress_hash is not None
        and pending.get("proof") == _proof(duress_hash)
    )


def _password_version(user: User) -> str:
    changed = user.password_changed_at
    return changed.isoformat() if changed is not None else ""


def check_password(ctx: Context, password: str) -> bool:
    """Re-authentication: is this the password the acting user's session was opened
    with (the duress password, for a duress session)?"""
    user = ctx.user
    if not user.is_active:
        return False
    checked = user.duress_password_hash if ctx.under_duress else user.password_hash
    with write_lock_released(ctx.session) as released:
        right = passwords.verify_password(checked, password)
    if right and released:
        ctx.session.refresh(user)
    now_held = user.duress_password_hash if ctx.under_duress else user.password_hash
    return right and user.is_active and now_held == checked


def record_login_failure(ctx: Context, user: User | None = None, step: str = "password") -> None:
    if user is None:
        record_event(ctx.session, ctx.actor, AuditAction.LOGIN_FAILURE, detail={"step": step})
    else:
        record_event(
            ctx.session,
            ctx.acting_as(user).actor,
            AuditAction.LOGIN_FAILURE,
            user,
            detail={"step": step},
        )


def record_login_success(ctx: Context, user: User, second_factor: str | None) -> None:
    user.last_login_at = utcnow()
    record_event(
        ctx.session,
        ctx.acting_as(user).actor,
        AuditAction.LOGIN_SUCCESS,
        user,
        detail={"second_factor": second_factor},
    )


def log_out(ctx: Context, reason: str | None = None) -> None:
    """Audit the acting user's logout; `reason` says how, when not the button (quick_exit)."""
    detail = None if reason is None else {"reason": reason}
    record_event(ctx.session, ctx.actor, AuditAction.LOGOUT, ctx.user, detail=detail)


WRONG_CURRENT_PASSWORD = "The current password is not right."  # noqa: S105 (a message)


def change_own_password(ctx: Context, current_password: str, new_password: str) -> None:
    """The acting user's new password, once the current one is checked; never in a
    duress session, which answers as for a wrong current password."""
    if ctx.under_duress or not check_password(ctx, current_password):
        raise ValidationError.on("current_password", WRONG_CURRENT_PASSWORD)
    if new_password == current_password:
        raise ValidationError.on(
            "new_password", "Choose a new password different from the current one."
        )
    change_password(ctx, ctx.user, new_password, field="new_password")
