"""Password rules and Argon2id hashing.

The rules are NIST SP 800-63B's rather than composition rules: a minimum length, and a
refusal of passwords that are common or easily guessed (zxcvbn's list of the 30,000 most
common passwords, and its estimate of how guessable the whole password is).
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from collections.abc import Iterable
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # Argon2 takes any length; this only bounds the work per request
# zxcvbn scores 0–4; below 2 means "guessable in well under a day offline".
MIN_GUESS_SCORE = 2
ZXCVBN_MAX_LENGTH = 72

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# At most one hash per processor at a time: each takes 64 MiB and its processor for tens
# of milliseconds, so thirty people logging in at once would otherwise take 2 GiB and
# starve every other thread of the processors — among them the one holding SQLite's
# write lock, which others then wait on past their timeout. Logins queue here instead.
_hashing = threading.BoundedSemaphore(os.cpu_count() or 1)


def _unmatchable_hash() -> str:
    """An Argon2id hash string with the hasher's parameters and random salt and digest.

    Checking a password against it costs what checking a real hash costs (the check
    computes the full hash before comparing), and no password matches it. It is written
    out rather than computed, so that starting the program (every `incidents` command)
    does not spend a full Argon2 computation on it.
    """

    def encoded(length: int) -> str:
        return base64.b64encode(secrets.token_bytes(length)).decode("ascii").rstrip("=")

    parameters = f"m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
    return (
        f"$argon2id$v={ARGON2_VERSION}${parameters}"
        f"${encoded(_hasher.salt_len)}${encoded(_hasher.hash_len)}"
    )


# Verified against when no account matches, so an unknown e-mail costs as much time as a
# wrong password and the two cannot be told apart.
_DUMMY_HASH = _unmatchable_hash()


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
    with _hashing:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash, spend the same time and say no."""
    try:
        with _hashing:
            matches = _hasher.verify(password_hash or _DUMMY_HASH, password)
        return bool(matches) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """A fresh hash of a password already accepted once (no rule check: it is in use)."""
    with _hashing:
        return _hasher.hash(password)
