"""The TOTP second factor and recovery codes (services/two_factor.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import DecryptionError, ValidationError
from incidents.models import RecoveryCode, User
from incidents.services import sessions, two_factor
from tests.factories import UserFactory
from tests.helpers import events

STEP = timedelta(seconds=30)
ContextFor = Callable[..., Context]


def _at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def _enrolled(context_for: ContextFor, when: datetime | None = None) -> tuple[User, str, list[str]]:
    """A user who has set up a second factor (enrolling is the user's own act)."""
    user = UserFactory()
    secret = two_factor.new_secret()
    when = when or utcnow()
    codes = two_factor.enable(context_for(user), secret, _at(secret, when), now=when)
    return user, secret, codes


def test_enable_seals_the_secret_and_returns_recovery_codes(
    db_session: Session, context_for: ContextFor
) -> None:
    user, secret, codes = _enrolled(context_for)
    assert user.has_two_factor and user.totp_secret is not None
    assert secret.encode() not in user.totp_secret
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    assert two_factor.remaining_recovery_codes(context_for(user)) == len(codes)
    (event,) = events(db_session, action="user.two_factor_enable", target=user)
    assert event.fields == ["recovery_codes", "totp_secret"]
    assert secret not in repr(event.detail) and codes[0] not in repr(event.detail)


def test_enable_refuses_a_wrong_code_and_changes_nothing(context_for: ContextFor) -> None:
    user = UserFactory()
    secret = two_factor.new_secret()
    now = utcnow()
    with pytest.raises(ValidationError):
        two_factor.enable(context_for(user), secret, _at(secret, now + 3 * STEP))
    with pytest.raises(ValidationError):
        two_factor.enable(context_for(user), secret, "not a code")
    with pytest.raises(ValidationError):  # digits to str.isdigit, not 0-9
        two_factor.enable(context_for(user), secret, "²³¹⁴⁵⁶")
    assert not user.has_two_factor and user.totp_secret is None


def test_enable_ends_every_session(context_for: ContextFor) -> None:
    user = UserFactory()
    as_user = context_for(user)
    sessions.start_session(as_user, user)
    secret = two_factor.new_secret()
    two_factor.enable(as_user, secret, _at(secret, utcnow()))
    assert sessions.open_sessions(as_user, user) == []


def test_a_sealed_secret_does_not_open_for_another_user(context_for: ContextFor) -> None:
    alice, alice_secret, _ = _enrolled(context_for)
    bob, _, _ = _enrolled(context_for)
    bob.totp_secret = alice.totp_secret  # the ciphertext moved to another user's row
    with pytest.raises(DecryptionError):
        two_factor.verify_code(context_for(None), bob, _at(alice_secret, utcnow() + STEP))


def test_a_code_is_accepted_once_and_never_an_older_one(context_for: ContextFor) -> None:
    start = utcnow()
    user, secret, _ = _enrolled(context_for, start)
    logging_in = context_for(None)  # nobody is logged in until the second factor passes
    enrolment_code = _at(secret, start)
    assert not two_factor.verify_code(logging_in, user, enrolment_code, now=start)
    later = start + 10 * STEP
    code = _at(secret, later)
    assert two_factor.verify_code(logging_in, user, code, now=later)
    assert not two_factor.verify_code(logging_in, user, code, now=later), "replayed"
    earlier = _at(secret, later - STEP)  # still in the window, but before the one used
    assert not two_factor.verify_code(logging_in, user, earlier, now=later)


def test_the_window_is_one_step_either_way(context_for: ContextFor) -> None:
    start = utcnow()
    user, secret, _ = _enrolled(context_for, start)
    logging_in = context_for(None)
    now = start + 20 * STEP

    def verify(offset: int) -> bool:
        code = _at(secret, now + offset * STEP)
        return two_factor.verify_code(logging_in, user, code, now=now) is not None

    assert not verify(-2)
    assert not verify(+2)
    assert verify(-1)
    assert verify(0)
    assert verify(+1)


def test_recovery_codes_work_once_in_any_spelling(
    db_session: Session, context_for: ContextFor
) -> None:
    user, _, codes = _enrolled(context_for)
    logging_in = context_for(None)
    assert two_factor.verify_code(logging_in, user, codes[0])
    assert not two_factor.verify_code(logging_in, user, codes[0])
    typed = codes[1].upper().replace("-", " ")
    assert two_factor.verify_code(logging_in, user, typed)
    assert not two_factor.verify_code(logging_in, user, codes[1])
    assert two_factor.remaining_recovery_codes(context_for(user)) == len(codes) - 2
    stored = repr(db_session.execute(select(RecoveryCode.__table__)).all())
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)


def test_new_recovery_codes_replace_the_old_ones(
    db_session: Session, context_for: ContextFor
) -> None:
    user, _, old = _enrolled(context_for)
    logging_in = context_for(None)
    new = two_factor.regenerate_recovery_codes(context_for(user))
    assert set(new).isdisjoint(old)
    assert not two_factor.verify_code(logging_in, user, old[0])
    assert two_factor.verify_code(logging_in, user, new[0])
    count = select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
    assert db_session.scalar(count) == len(new)
    assert events(db_session, action="user.recovery_codes_replace", target=user)
    with pytest.raises(ValidationError):
        two_factor.regenerate_recovery_codes(context_for(UserFactory()))


def test_reset_removes_the_second_factor_and_ends_every_session(
    db_session: Session, ctx: Context, context_for: ContextFor
) -> None:
    user, secret, codes = _enrolled(context_for)
    logging_in = context_for(None)
    sessions.start_session(ctx, user)
    assert two_factor.reset(ctx, user)
    assert not user.has_two_factor and user.totp_secret is None and user.totp_last_step is None
    assert two_factor.remaining_recovery_codes(context_for(user)) == 0
    assert sessions.open_sessions(ctx, user) == []
    assert not two_factor.verify_code(logging_in, user, codes[0])
    assert not two_factor.verify_code(logging_in, user, _at(secret, utcnow()))
    assert events(db_session, action="user.two_factor_reset", target=user)
    assert two_factor.needs_enrolment(user, required=True, production=True)


@pytest.mark.parametrize(
    ("enrolled", "exempt", "required", "production", "needs"),
    [
        (False, False, True, True, True),
        (False, False, True, False, True),
        (False, False, False, False, False),
        (True, False, True, True, False),
        (False, True, True, False, False),  # a demo account outside production
        (False, True, True, True, True),  # production ignores the exemption
    ],
)
def test_who_must_enrol(
    enrolled: bool, exempt: bool, required: bool, production: bool, needs: bool
) -> None:
    user = User(two_factor_exempt=exempt, totp_enabled_at=utcnow() if enrolled else None)
    assert two_factor.needs_enrolment(user, required, production) is needs


def test_the_provisioning_uri_and_qr_code(db_session: Session) -> None:
    user = UserFactory(email="ana@example.org")
    secret = two_factor.new_secret()
    assert len(secret) == 32
    uri = two_factor.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/Incidents:ana%40example.org?secret=" + secret)
    assert two_factor.qr_code_data_uri(uri).startswith("data:image/svg+xml")


def test_a_secret_being_enrolled_travels_sealed_and_opens_only_for_its_user(
    context_for: ContextFor,
) -> None:
    """The browser holds it in the cookie session, which is signed but readable."""
    alice, bob = context_for(UserFactory()), context_for(UserFactory())
    secret = two_factor.new_secret()
    token = two_factor.seal_pending_secret(alice, secret)
    assert secret not in token
    assert two_factor.open_pending_secret(alice, token) == secret
    assert two_factor.open_pending_secret(bob, token) is None
    assert two_factor.open_pending_secret(alice, token[:-4] + "AAAA") is None
    assert two_factor.open_pending_secret(alice, "not base64!") is None
    assert two_factor.open_pending_secret(alice, None) is None
