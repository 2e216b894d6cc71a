"""Password rules and Argon2id hashing.

The rules are NIST SP 800-63B's rather than composition rules: a minimum length, and a
refusal of passwords that are common or easily guessed (zxcvbn's list of the 30,000 most
common passwords, and its estimate of how guessable the whole password is).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # Argon2 takes any length; this only bounds the work per request
# zxcvbn scores 0–4; below 2 means "guessable in well under a day offline".
MIN_GUESS_SCORE = 2
ZXCVBN_MAX_LENGTH = 72

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when no account matches, so an unknown e-mail costs as much time as a
# wrong password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("not-a-password-" + uuid.uuid4().hex)


class PasswordRejected(ValueError):
    """The password breaks a rule; the message says which, in words for the user."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why `password` cannot be used, as a sentence saying what to do, or None when it can."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.lower() in common_passwords():
        return "This is one of the most common passwords: choose another."
    inputs = [value for value in user_inputs if value]
    # zxcvbn raises ValueError beyond 72 characters (and is slow on long inputs), so only
    # the start of a long passphrase is scored.
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)
    if result["score"] < MIN_GUESS_SCORE:
        warning = result["feedback"].get("warning") or "it would be easy to guess"
        return (
            f"This password is too easy to guess ({warning.rstrip('.').lower()}): choose another."
        )
    return None


def check_password(password: str, user_inputs: Iterable[str] = ()) -> None:
    problem = password_problem(password, user_inputs)
    if problem is not None:
        raise PasswordRejected(problem)


def hash_password(password: str, user_inputs: Iterable[str] = ()) -> str:
    check_password(password, user_inputs)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash, spend the same time and say no."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """A fresh hash of a password already accepted once (no rule check: it is in use)."""
    return _hasher.hash(password)
