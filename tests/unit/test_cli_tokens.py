"""`incidents tokens create|list|revoke`: the same service and rules as the account page,
with the operator as the audited actor.

In-process on both backends (inside the test's rolled-back transaction), and in a real
subprocess to check that the token is the only line on stdout and that each refusal is
one line on stderr with a non-zero exit status.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.cli import tokens_group
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import ApiToken, User
from incidents.models.vocabularies import Role
from incidents.services import api_tokens
from tests.factories import UserFactory
from tests.helpers import events, invoke
from tests.unit.test_cli import assert_ok, assert_one_line_error, clean_environment, run

PASSWORD = "violet harbour lantern 42"


def _create(app: Flask, user: User, *extra: str) -> Result:
    arguments = ["create", "--user", user.email, "--name", "nightly export", *extra]
    return invoke(app, tokens_group, *arguments)


def _only_token(db_session: Session, user: User) -> ApiToken:
    db_session.expire_all()
    return db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()


def test_create_prints_the_token_once_and_keeps_its_hash(app: Flask, db_session: Session) -> None:
    user = UserFactory(role=Role.RESEARCHER)
    result = _create(app, user, "--scope", "cases:read", "--scope", "cases:write")

    assert result.exit_code == 0, result.output
    token_text = result.stdout.strip()
    assert token_text.startswith("inc_") and "\n" not in token_text
    assert result.stderr.count("\n") == 1
    assert "not shown again" in result.stderr and token_text not in result.stderr
    token = _only_token(db_session, user)
    assert token.token_hash == hashlib.sha256(token_text.encode()).hexdigest()
    assert (token.name, token.scopes) == ("nightly export", "cases:read cases:write")
    (event,) = events(db_session, AuditAction.API_TOKEN_CREATE, target=token)
    assert event.actor.startswith("cli:")  # the operator at the command line
    assert token_text not in str(event.detail)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--scope", "advocacy:write"), "advocacy:write"),
        (("--scope", "cases:read", "--expires-in-days", "400"), "1 to 365 days"),
    ],
)
def test_create_refuses_what_the_service_refuses(
    app: Flask, db_session: Session, extra: tuple[str, ...], words: str
) -> None:
    user = UserFactory(role=Role.RESEARCHER)
    result = _create(app, user, *extra)
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationError)
    assert words in str(result.exception)
    assert result.stdout == ""
    assert db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []


def test_create_refuses_an_unknown_scope_as_a_usage_error(app: Flask, db_session: Session) -> None:
    result = _create(app, UserFactory(role=Role.RESEARCHER), "--scope", "cases:delete")
    assert result.exit_code == 2 and "cases:delete" in result.output


def test_list_shows_a_table_of_every_token_or_one_users(app: Flask, ctx: Context) -> None:
    researcher = UserFactory(role=Role.RESEARCHER)
    lead = UserFactory(role=Role.ADVOCACY_LEAD)
    _, mine = api_tokens.create(ctx, researcher, "laptop", ["cases:read", "advocacy:read"])
    _, theirs = api_tokens.create(ctx, lead, "campaign sync", ["advocacy:write"])
    api_tokens.revoke(ctx, theirs.id)

    everyone = invoke(app, tokens_group, "list")
    assert everyone.exit_code == 0, everyone.output
    header, *rows = everyone.stdout.splitlines()
    assert header.split("\t") == [
        "id",
        "user",
        "name",
        "scopes",
        "created",
        "expires",
        "last used",
        "state",
    ]
    cells = {row.split("\t")[0]: row.split("\t") for row in rows}
    assert cells[str(mine.id)][1:4] == [researcher.email, "laptop", "cases:read,advocacy:read"]
    assert cells[str(mine.id)][6:] == ["-", "active"]
    assert cells[str(theirs.id)][-1] == "revoked"

    one = invoke(app, tokens_group, "list", "--user", lead.email)
    assert [row.split("\t")[0] for row in one.stdout.splitlines()[1:]] == [str(theirs.id)]
    assert "hash" not in everyone.stdout and mine.token_hash not in everyone.stdout


def test_revoke_ends_a_token_and_says_so(app: Flask, ctx: Context, db_session: Session) -> None:
    user = UserFactory(role=Role.RESEARCHER)
    token_text, token = api_tokens.create(ctx, user, "laptop", ["cases:read"])

    result = invoke(app, tokens_group, "revoke", str(token.id))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"revoked token {token.id} (laptop) of {user.email}\n"
    with pytest.raises(api_tokens.InvalidToken):
        api_tokens.authenticate(ctx.acting_as(None), token_text)
    (event,) = events(db_session, AuditAction.API_TOKEN_REVOKE, target=token)
    assert event.detail["reason"] == "administrator"  # the operator, not the owner

    again = invoke(app, tokens_group, "revoke", str(token.id))
    assert again.exit_code == 0 and "revoked already" in again.stdout
    unknown = invoke(app, tokens_group, "revoke", "not-a-token")
    assert unknown.exit_code != 0 and "incidents tokens list" in str(unknown.exception)


# -- in a real process ---------------------------------------------------------------------


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with one researcher."""
    environment = clean_environment(tmp_path / "instance")
    assert_ok(run(["db", "upgrade"], tmp_path, environment))
    researcher = ["--email", "r@example.org", "--name", "R", "--role", "researcher"]
    assert_ok(run(["users", "create", *researcher, "--password", PASSWORD], tmp_path, environment))
    return environment


def test_the_token_alone_on_stdout_and_refusals_in_one_line(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    made = run(
        ["tokens", "create", "--user", "r@example.org", "--name", "n", "--scope", "cases:read"],
        tmp_path,
        environ,
    )
    assert_ok(made)
    assert made.stdout.startswith("inc_") and made.stdout.count("\n") == 1
    assert len(made.stderr.splitlines()) == 1 and made.stderr.startswith("warning:")
    listed = run(["tokens", "list", "--user", "r@example.org"], tmp_path, environ)
    assert_ok(listed)
    (row,) = listed.stdout.splitlines()[1:]
    assert row.endswith("\tactive")

    def one_line(arguments: list[str], *names: str) -> int:
        result = run(arguments, tmp_path, environ)
        assert_one_line_error(result, *names)
        assert result.stdout == ""
        return result.returncode

    create = ["tokens", "create", "--name", "n", "--scope"]
    assert one_line([*create, "cases:read", "--user", "ghost@example.org"], "ghost") == 1
    assert one_line([*create, "audit:read", "--user", "r@example.org"], "audit:read") == 1
    assert one_line([*create, "wizardry", "--user", "r@example.org"], "wizardry") == 2
    assert one_line(["tokens", "revoke", "nothing"], "incidents tokens list") == 1
