"""Password rules and hashing (services/passwords.py): length, common passwords, guessability,
Argon2id."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import VerifyMismatchError

from incidents.services import passwords
from incidents.services.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    password_problem,
)

STRONG = "vq7#Lm2!Tz9w"  # random, exactly the minimum length


def test_the_minimum_length_is_twelve() -> None:
    assert MIN_PASSWORD_LENGTH == 12 and len(STRONG) == 12
    assert password_problem(STRONG) is None
    assert password_problem(STRONG[:11]) == "Use at least 12 characters."
    assert password_problem("") == "Use at least 12 characters."


def test_long_passphrases_are_welcome_up_to_a_bound() -> None:
    assert password_problem("correct horse battery staple " * 20) is None
    assert password_problem("x" * (MAX_PASSWORD_LENGTH + 1)) == "Use at most 1024 characters."


@pytest.mark.parametrize("password", ["qwerty123456", "QWERTY123456", "123456789012"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and ("common" in problem or "guess" in problem)


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcdefghijkl", "111111111111a"])
def test_easily_guessed_passwords_are_refused(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and "too easy to guess" in problem


def test_the_users_own_details_make_a_password_guessable() -> None:
    password = "anna.kovalenko1"
    assert password_problem(password) is None
    problem = password_problem(password, ["anna.kovalenko@example.org", "anna.kovalenko"])
    assert problem is not None and "guess" in problem


def test_check_password_raises_with_the_reason() -> None:
    with pytest.raises(PasswordRejected, match="at least 12"):
        passwords.check_password("short")
    passwords.check_password(STRONG)


def test_hashing_is_argon2id_salted_and_checks_the_rules() -> None:
    first, second = passwords.hash_password(STRONG), passwords.hash_password(STRONG)
    assert first.startswith("$argon2id$") and first != second  # a salt of its own each
    assert passwords.verify_password(first, STRONG)
    assert not passwords.verify_password(first, STRONG + " ")
    assert not passwords.needs_rehash(first)
    with pytest.raises(PasswordRejected):
        passwords.hash_password("qwerty123456")


def test_verification_says_no_without_a_hash_or_with_a_broken_one() -> None:
    assert not passwords.verify_password(None, STRONG)
    assert not passwords.verify_password("", STRONG)
    assert not passwords.verify_password("$argon2id$broken", STRONG)
    assert not passwords.verify_password("plain text", "plain text")


def test_an_unknown_account_costs_a_full_argon2_check() -> None:
    """Without a hash the password is checked against a stand-in with the real hashes'
    parameters, so an unknown e-mail takes as long as a wrong password."""
    stand_in = passwords._DUMMY_HASH
    assert extract_parameters(stand_in) == extract_parameters(passwords.hash_password(STRONG))
    assert not passwords.needs_rehash(stand_in)
    with pytest.raises(VerifyMismatchError):  # a well-formed hash, checked in full, no match
        PasswordHasher().verify(stand_in, STRONG)


def test_a_weaker_hash_is_marked_for_rehashing() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(STRONG)
    assert passwords.verify_password(weak, STRONG)
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.rehash(STRONG))
