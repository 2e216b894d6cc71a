"""TOTP second factor (RFC 6238, pyotp) and single-use recovery codes.

The TOTP secret is sealed like a case record's secret field: with a data key of its
own, wrapped by the master key, so key rotation re-wraps it and a database dump alone
cannot produce codes. Accounts belong to no team; their data keys are bound to a fixed
"accounts" compartment id instead.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime
from typing import Any

import pyotp
import segno
from sqlalchemy.orm.attributes import set_committed_value

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.crypto import envelope
from incidents.db import utcnow
from incidents.errors import DecryptionError, ValidationError
from incidents.models.user import RecoveryCode, User
from incidents.permissions import Permission, ensure
from incidents.repositories import accounts as account_queries
from incidents.services import sessions
from incidents.vault import FieldVault

ISSUER = "Incidents"
ACCOUNTS_COMPARTMENT = uuid.UUID(int=0)
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_CHARACTERS = 16  # base32: 80 random bits each
# Codes of the previous and next 30-second step are accepted, for clocks a little off.
VALID_WINDOW = 1
SECRET_COLUMN = "totp_secret"  # noqa: S105 (a column name)
PENDING_PLACE = "pending_totp_secret"  # the associated data of a secret being enrolled


class _AccountRecord:
    """Where an account's data key is bound: the vault's place for an account, which
    belongs to no team (not a case record, so nothing asks permissions of it)."""

    __tablename__ = "users"

    def __init__(self, user_id: uuid.UUID) -> None:
        self.id: Any = user_id
        self.team_id: Any = ACCOUNTS_COMPARTMENT


def new_secret() -> str:
    return pyotp.random_base32(length=32)  # 160 bits, as RFC 4226 recommends


def provisioning_uri(user: User, secret: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data URI (the CSP allows data: images, no scripts)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111", light="#fff"))


def _seal(vault: FieldVault, user: User, secret: str, place: str) -> bytes:
    """`secret` sealed with the account's data key, bound to `place` (a column name)."""
    record = _AccountRecord(user.id)
    cipher = vault.cipher_for(record, create=True)
    aad = envelope.field_aad(record.__tablename__, place, user.id, ACCOUNTS_COMPARTMENT)
    return envelope.seal_with(cipher, secret.encode(), aad)


def _open(vault: FieldVault, user: User, sealed: bytes, place: str) -> str:
    record = _AccountRecord(user.id)
    cipher = vault.cipher_for(record, create=False)
    aad = envelope.field_aad(record.__tablename__, place, user.id, ACCOUNTS_COMPARTMENT)
    return envelope.open_with(cipher, sealed, aad).decode()


def _open_secret(vault: FieldVault, user: User) -> str:
    assert user.totp_secret is not None
    return _open(vault, user, user.totp_secret, SECRET_COLUMN)


def seal_pending_secret(ctx: Context, secret: str) -> str:
    """The secret the acting user is enrolling, sealed for the browser to hold until the
    first code confirms it: the cookie session is signed, not encrypted. (The account may
    get its data key now.)"""
    return base64.urlsafe_b64encode(_seal(ctx.vault, ctx.user, secret, PENDING_PLACE)).decode()


def open_pending_secret(ctx: Context, token: object) -> str | None:
    """The secret sealed by seal_pending_secret for the acting user, or None for anything
    else."""
    if not isinstance(token, str):
        return None
    try:
        return _open(ctx.vault, ctx.user, base64.urlsafe_b64decode(token), PENDING_PLACE)
    except (ValueError, DecryptionError):
        return None


def _normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code`, within the window, or None."""
    code = _normalise_code(code)
    # isdigit alone would pass "²" and other digits that are not 0-9.
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


CODE_MISMATCH = "That code does not match: check the clock of the device and try the next code."


def check_enrolment_code(secret: str, code: str, now: datetime | None = None) -> int:
    step = _matching_step(secret, code, now or utcnow())
    if step is None:
        raise ValidationError.on("code", CODE_MISMATCH)
    return step


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    codes = []
    user.recovery_codes.clear()
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_bytes(RECOVERY_CODE_CHARACTERS * 5 // 8)
        text = base64.b32encode(raw).decode().lower()
        code = "-".join(text[i : i + 4] for i in range(0, len(text), 4))
        codes.append(code)
        user.recovery_codes.append(RecoveryCode(code_hash=_hash_recovery_code(code)))
    return codes


def enable(ctx: Context, secret: str, code: str, now: datetime | None = None) -> list[str]:
    """Turn on (or move to a new device) the acting user's second factor once `code`
    proves the authenticator has `secret`; returns new recovery codes, shown once. Every
    session of the user ends (security check 18); the caller starts a new one for this
    browser."""
    user = ctx.user
    now = now or utcnow()
    step = check_enrolment_code(secret, code, now)
    if ctx.under_duress:  # the real account's second factor stays as it is
        raise ValidationError.on("code", CODE_MISMATCH)
    replacing = user.has_two_factor
    user.totp_secret = _seal(ctx.vault, user, secret, SECRET_COLUMN)
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    sessions.end_all_sessions(ctx, user, sessions.EndReason.TWO_FACTOR, now)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_TWO_FACTOR_REPLACE if replacing else AuditAction.USER_TWO_FACTOR_ENABLE,
        user,
        fields=["totp_secret", "recovery_codes"],
    )
    ctx.session.flush()
    return codes


class SecondFactor(enum.StrEnum):
    """Which second factor a code turned out to be (for the login's audit event)."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery-code"


def verify_code(
    ctx: Context, user: User, code: str, now: datetime | None = None
) -> SecondFactor | None:
    """The kind of a current TOTP code not used before, or of an unused recovery code (now
    used); None for anything else.

    A TOTP code of a step at or before the last accepted one is a replay and refused.
    Both checks are single conditional UPDATEs, so two requests racing with the same code
    cannot both pass: the database lets exactly one of them change the row.
    """
    if not user.has_two_factor:
        return None
    now = now or utcnow()
    step = _matching_step(_open_secret(ctx.vault, user), code, now)
    if step is not None:
        if not account_queries.advance_totp_step(ctx.session, user.id, step):
            return None
        set_committed_value(user, "totp_last_step", step)
        return SecondFactor.TOTP
    if use_recovery_code(ctx, user, code, now):
        return SecondFactor.RECOVERY_CODE
    return None


def use_recovery_code(ctx: Context, user: User, code: str, now: datetime | None = None) -> bool:
    """True when `code` is an unused recovery code of `user`, which it marks used."""
    return account_queries.mark_recovery_code_used(
        ctx.session, user.id, _hash_recovery_code(code), now or utcnow()
    )


def remaining_recovery_codes(ctx: Context) -> int:
    """How many unused recovery codes the acting user has left."""
    return account_queries.unused_recovery_code_count(ctx.session, ctx.user.id)


def regenerate_recovery_codes(ctx: Context) -> list[str]:
    """New recovery codes for the acting user; the old ones stop working."""
    user = ctx.user
    if not user.has_two_factor or ctx.under_duress:
        raise ValidationError("Set up two-factor authentication first.")
    codes = _new_recovery_codes(user)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_RECOVERY_CODES_REPLACE,
        user,
        fields=["recovery_codes"],
    )
    ctx.session.flush()
    return codes


def reset(ctx: Context, user: User, now: datetime | None = None) -> bool:
    """Remove the second factor (an administrator helping someone who lost their device);
    the user must enrol again at their next login where two-factor is required. False,
    and nothing changes, when the user has no second factor."""
    ensure(ctx.principal, Permission.USERS_MANAGE)
    if not user.has_two_factor:
        return False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes.clear()
    sessions.end_all_sessions(ctx, user, sessions.EndReason.TWO_FACTOR, now)
    record_event(
        ctx.session, ctx.actor, AuditAction.USER_TWO_FACTOR_RESET, user, fields=["totp_secret"]
    )
    ctx.session.flush()
    return True


def needs_enrolment(user: User, required: bool, production: bool) -> bool:
    """True when the user must set up a second factor before doing anything else."""
    if not required or user.has_two_factor:
        return False
    return not is_exempt(user, production)


def is_exempt(user: User, production: bool) -> bool:
    """A demo account, which may log in without a second factor — never in production."""
    return user.two_factor_exempt and not production
