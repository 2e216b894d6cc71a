"""Logging in and out, and a user's own password: what happens before and around a login.

A failed attempt is recorded without the e-mail typed (it may be a password typed in the
wrong box); a failed second factor names the account, whose password was right.
"""

from __future__ import annotations

import time
import uuid

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


def authenticate(ctx: Context, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way).

    The hash is checked with SQLite's write lock let go (incidents/sqlite_locking.py);
    when it was, the account is read again before anything is written for it, and a
    password changed meanwhile is not the one that was checked.
    """
    user = account_queries.user_by_email(ctx.session, normalise_email(email))
    checked = user.password_hash if user else None
    with write_lock_released(ctx.session) as released:
        right = passwords.verify_password(checked, password)
        renewed = passwords.rehash(password) if right and _outdated(checked) else None
    if user is None or not right:
        return None
    if released:
        ctx.session.refresh(user)
    if not user.is_active or user.password_hash != checked:
        return None
    if renewed is not None:
        user.password_hash = renewed
    return user


def _outdated(password_hash: str | None) -> bool:
    return password_hash is not None and passwords.needs_rehash(password_hash)


def start_pending_login(
    user: User, target: str | None, now: float | None = None
) -> dict[str, object]:
    """What the browser holds between the password step and the second factor: who, when,
    and which password was right (so that a password changed meanwhile voids it)."""
    return {
        "user": str(user.id),
        "email": user.email,
        "password": _password_version(user),
        "at": time.time() if now is None else now,
        "next": target,
    }


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
    return user if pending.get("password") == _password_version(user) else None


def _password_version(user: User) -> str:
    changed = user.password_changed_at
    return changed.isoformat() if changed is not None else ""


def check_password(ctx: Context, password: str) -> bool:
    """Re-authentication: is this the acting user's current password?"""
    user = ctx.user
    if not user.is_active:
        return False
    checked = user.password_hash
    with write_lock_released(ctx.session) as released:
        right = passwords.verify_password(checked, password)
    if right and released:
        ctx.session.refresh(user)
    return right and user.is_active and user.password_hash == checked


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


def log_out(ctx: Context) -> None:
    record_event(ctx.session, ctx.actor, AuditAction.LOGOUT, ctx.user)


def change_own_password(ctx: Context, current_password: str, new_password: str) -> None:
    """The acting user's new password, once the current one is checked."""
    if not check_password(ctx, current_password):
        raise ValidationError.on("current_password", "The current password is not right.")
    if new_password == current_password:
        raise ValidationError.on(
            "new_password", "Choose a new password different from the current one."
        )
    change_password(ctx, ctx.user, new_password, field="new_password")
