"""Security check 24: passwords are hashed with Argon2id, at least 12 characters long, and not
one of the commonly used ones — wherever a password is set: creating a user (service and
command line) and changing one's own on the web."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from incidents.cli import cli
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.services import accounts, authentication
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import invoke
from tests.security.conftest import enter, is_logged_in, quick_hash, token
from tests.web.conftest import World

# Long enough to pass the length rule; refused only for being common.
COMMON = [p for p in FREQUENCY_LISTS["passwords"] if len(p) >= 12][:6]
COMMON_AS_TYPED = [*COMMON, COMMON[0].upper()]  # the list is checked case-insensitively
STRONG_12 = "vq7#Lm2!Tz9w"  # random, 12 characters
# OWASP's minimum Argon2id memory cost (19 MiB), in KiB.
MIN_MEMORY_KIB = 19 * 1024


def _email() -> str:
    return f"pw-{uuid.uuid4().hex[:8]}@example.org"


def test_24_the_common_list_is_long_and_has_long_entries() -> None:
    assert len(COMMON) == 6 and "qwerty123456" in FREQUENCY_LISTS["passwords"]


@pytest.mark.usefixtures("production_hashing")
def test_24_passwords_are_stored_as_argon2id(ctx: Context) -> None:
    user = accounts.create_user(ctx, _email(), "Ana", STRONG_12)
    assert user.password_hash.startswith("$argon2id$")
    parameters = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
    assert int(parameters["m"]) >= MIN_MEMORY_KIB and int(parameters["t"]) >= 2
    assert STRONG_12 not in user.password_hash
    assert authentication.authenticate(ctx, user.email, STRONG_12) is user


def test_24_eleven_characters_are_refused_and_twelve_accepted(ctx: Context) -> None:
    with pytest.raises(ValidationError, match="at least 12 characters") as refused:
        accounts.create_user(ctx, _email(), "Ana", STRONG_12[:11])
    assert "password" in refused.value.errors
    assert accounts.create_user(ctx, _email(), "Ana", STRONG_12).password_hash


@pytest.mark.parametrize("password", COMMON_AS_TYPED)
def test_24_a_common_password_is_refused_at_user_creation(password: str, ctx: Context) -> None:
    email = _email()
    with pytest.raises(ValidationError, match="common") as refused:
        accounts.create_user(ctx, email, "Ana", password)
    assert "password" in refused.value.errors
    assert accounts.find_user_by_email(ctx, email) is None


def test_24_a_common_password_is_refused_at_password_change(
    app: Flask, world: World, db_session: Session
) -> None:
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    client = enter(app.test_client(), db_session, user)
    for password in COMMON_AS_TYPED:
        response = client.post(
            "/account/password",
            data={
                "current_password": DEFAULT_PASSWORD,
                "new_password": password,
                "confirm_password": password,
                "csrf_token": token(client, "/account/password"),
            },
        )
        assert response.status_code == 422, password
        assert "common" in response.get_data(as_text=True)
    db_session.refresh(user)
    assert user.password_hash == quick_hash(), "the password changed"
    assert is_logged_in(client), "a refused change ended the session"


def test_24_a_common_password_is_refused_by_the_command_line(
    app: Flask, world: World, ctx: Context
) -> None:
    refusals = [(password, "common") for password in COMMON_AS_TYPED]
    for password, reason in [*refusals, (STRONG_12[:11], "at least 12 characters")]:
        email = _email()
        result = invoke(
            app, cli, "users", "create", "--email", email, "--name", "Ana", "--password", password
        )
        assert result.exit_code != 0, f"{password!r} accepted: {result.output}"
        assert reason in f"{result.output} {result.exception}", result.output
        assert accounts.find_user_by_email(ctx, email) is None
    # The same command with a good password works (so the refusals were the password's).
    email = _email()
    result = invoke(
        app, cli, "users", "create", "--email", email, "--name", "Ana", "--password", STRONG_12
    )
    assert result.exit_code == 0, result.output
    assert accounts.find_user_by_email(ctx, email) is not None


def test_24_a_long_passphrase_is_accepted_at_password_change(
    app: Flask, world: World, db_session: Session
) -> None:
    """Regression: over 72 characters, the guessability check raised and the page failed."""
    user = UserFactory(teams=[world.team], password_hash=quick_hash())
    client = enter(app.test_client(), db_session, user)
    passphrase = "the orchard behind the old mill floods every April " * 2
    response = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": passphrase,
            "confirm_password": passphrase,
            "csrf_token": token(client, "/account/password"),
        },
    )
    assert response.status_code == 302
    db_session.refresh(user)
    assert user.password_hash.startswith("$argon2id$") and user.password_hash != quick_hash()
