"""`incidents users|teams`: the same services and rules as the administration pages.

The commands run in-process on both backends (Flask's CLI runner, inside the test's
rolled-back transaction), and a few in a real subprocess to check that each refusal is
one line on stderr with a non-zero exit status (security checks 8 and 27).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.cli import teams_group, users_group
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import User
from incidents.models.user import UserSession
from incidents.models.vocabularies import Role
from incidents.services import accounts, authentication, sessions, two_factor
from tests.factories import DEFAULT_PASSWORD, TeamFactory, UserFactory
from tests.helpers import count_events, events, invoke
from tests.unit.test_cli import (
    assert_ok,
    assert_one_line_error,
    clean_environment,
    run,
)

NEW_PASSWORD = "violet harbour lantern 42"
ContextFor = Callable[..., Context]


def refused(result: Result, *words: str) -> str:
    """The command stopped with the project's ValidationError naming `words`."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, ValidationError), repr(result.exception)
    message = str(result.exception)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def can_log_in(nobody: Context, user: User, password: str) -> bool:
    nobody.session.expire_all()  # the command changed the row through another session
    return authentication.authenticate(nobody, user.email, password) is not None


def reload(db_session: Session, user: User) -> User:
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    assert fresh is not None
    return fresh


def open_session_count(db_session: Session, user: User) -> int:
    query = select(func.count()).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    return int(db_session.scalar(query) or 0)


def with_two_factor(context_for: ContextFor, user: User) -> None:
    """`user` sets up a second factor (enrolling is the user's own act)."""
    secret = two_factor.new_secret()
    two_factor.enable(context_for(user), secret, pyotp.TOTP(secret).now())


# -- in-process, on SQLite and PostgreSQL -----------------------------------------------


def test_users_list_shows_roles_teams_state_and_two_factor(
    app: Flask, context_for: ContextFor
) -> None:
    north, south = TeamFactory(slug="north"), TeamFactory(slug="south")
    UserFactory(email="a@example.org", role=Role.RESEARCHER, teams=[south, north])
    UserFactory(email="b@example.org", role=Role.ADMIN, disabled=True)
    with_two_factor(context_for, UserFactory(email="c@example.org", role=None))
    result = invoke(app, users_group, "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "a@example.org\troles=researcher\tteams=north,south\tactive\t2fa=off",
        "b@example.org\troles=admin\tteams=-\tdisabled\t2fa=off",
        "c@example.org\troles=-\tteams=-\tactive\t2fa=on",
    ]


def test_set_roles_gives_exactly_those_roles_ends_sessions_and_is_audited(
    app: Flask, db_session: Session, ctx: Context
) -> None:
    user = UserFactory(email="r@example.org", role=Role.RESEARCHER)
    sessions.start_session(ctx, user)
    result = invoke(
        app,
        users_group,
        "set-roles",
        "R@Example.org",
        "--role",
        "auditor",
        "--role",
        "advocacy_lead",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("roles of r@example.org: researcher -> advocacy_lead,auditor")
    assert reload(db_session, user).role_set == {Role.AUDITOR, Role.ADVOCACY_LEAD}
    assert open_session_count(db_session, user) == 0
    (event,) = events(db_session, "user.roles_change", user)
    assert event.actor.startswith("cli:")
    assert event.detail == {"before": ["researcher"], "after": ["advocacy_lead", "auditor"]}
    same = invoke(
        app,
        users_group,
        "set-roles",
        "r@example.org",
        "--role",
        "auditor",
        "--role",
        "advocacy_lead",
    )
    assert same.exit_code == 0 and "unchanged" in same.output
    assert count_events(db_session, "user.roles_change", user) == 1


def test_set_roles_to_nothing_needs_none_said_on_purpose(app: Flask, db_session: Session) -> None:
    user = UserFactory(email="n@example.org", role=Role.AUDITOR)
    forgot = invoke(app, users_group, "set-roles", "n@example.org")
    assert forgot.exit_code == 2 and "--none" in forgot.output
    both = invoke(app, users_group, "set-roles", "n@example.org", "--role", "auditor", "--none")
    assert both.exit_code == 2
    assert reload(db_session, user).role_set == {Role.AUDITOR}
    emptied = invoke(app, users_group, "set-roles", "n@example.org", "--none")
    assert emptied.exit_code == 0, emptied.output
    assert reload(db_session, user).role_set == set()


def test_set_roles_refuses_an_unknown_role(app: Flask, db_session: Session) -> None:
    user = UserFactory(email="u@example.org", role=Role.AUDITOR)
    result = invoke(app, users_group, "set-roles", "u@example.org", "--role", "wizard")
    assert result.exit_code == 2 and "wizard" in result.output
    assert reload(db_session, user).role_set == {Role.AUDITOR}


def test_the_last_administrator_is_kept(app: Flask, db_session: Session) -> None:
    admin = UserFactory(email="only-admin@example.org", role=Role.ADMIN)
    refused(
        invoke(app, users_group, "set-roles", admin.email, "--role", "auditor"),
        "last active administrator",
    )
    refused(invoke(app, users_group, "disable", admin.email), "last active administrator")
    fresh = reload(db_session, admin)
    assert fresh.is_active and fresh.role_set == {Role.ADMIN}
    assert events(db_session, "user.disable") == events(db_session, "user.roles_change") == []
    UserFactory(role=Role.ADMIN)  # a second administrator: now the first may go
    assert invoke(app, users_group, "disable", admin.email).exit_code == 0


def test_set_teams_gives_exactly_those_teams_and_refuses_unknown_ones(
    app: Flask, db_session: Session, ctx: Context
) -> None:
    north, south, west = (TeamFactory(slug=s) for s in ("north", "south", "west"))
    user = UserFactory(email="t@example.org", teams=[north])
    sessions.start_session(ctx, user)
    refused(invoke(app, users_group, "set-teams", user.email, "--team", "nowhere"), "nowhere")
    assert reload(db_session, user).team_ids == {north.id}
    result = invoke(app, users_group, "set-teams", user.email, "--team", "south", "--team", "west")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "teams of t@example.org: north -> south,west"
    assert reload(db_session, user).team_ids == {south.id, west.id}
    assert open_session_count(db_session, user) == 1  # memberships are read on every request
    (event,) = events(db_session, "user.teams_change", user)
    assert event.detail == {"before": ["north"], "after": ["south", "west"]}
    assert invoke(app, users_group, "set-teams", user.email, "--none").exit_code == 0
    assert reload(db_session, user).team_ids == set()


def test_disable_ends_sessions_and_enable_lets_the_user_back(
    app: Flask, db_session: Session, ctx: Context, context_for: ContextFor
) -> None:
    user = UserFactory(email="d@example.org")
    sessions.start_session(ctx, user)
    result = invoke(app, users_group, "disable", "d@example.org")
    assert result.exit_code == 0, result.output
    assert not reload(db_session, user).is_active
    assert open_session_count(db_session, user) == 0
    assert not can_log_in(context_for(None), user, DEFAULT_PASSWORD)
    assert count_events(db_session, "user.disable", user) == 1
    assert invoke(app, users_group, "enable", "d@example.org").exit_code == 0
    assert can_log_in(context_for(None), user, DEFAULT_PASSWORD)
    assert count_events(db_session, "user.enable", user) == 1


def test_reset_two_factor(
    app: Flask, db_session: Session, ctx: Context, context_for: ContextFor
) -> None:
    user = UserFactory(email="f@example.org")
    refused(invoke(app, users_group, "reset-two-factor", user.email), "no second factor")
    with_two_factor(context_for, user)
    sessions.start_session(ctx, user)
    result = invoke(app, users_group, "reset-two-factor", user.email)
    assert result.exit_code == 0, result.output
    fresh = reload(db_session, user)
    assert not fresh.has_two_factor and fresh.totp_secret is None and fresh.recovery_codes == []
    assert open_session_count(db_session, user) == 0
    assert count_events(db_session, "user.two_factor_reset", user) == 1


def test_set_password_is_asked_twice_checked_and_audited(
    app: Flask, db_session: Session, ctx: Context, context_for: ContextFor
) -> None:
    user = UserFactory(email="p@example.org")
    sessions.start_session(ctx, user)
    refused(
        invoke(app, users_group, "set-password", user.email, "--password", "short"),
        "12 characters",
    )
    result = invoke(
        app, users_group, "set-password", user.email, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert can_log_in(context_for(None), user, NEW_PASSWORD)
    assert not can_log_in(context_for(None), user, DEFAULT_PASSWORD)
    assert open_session_count(db_session, user) == 0
    assert count_events(db_session, "user.password_change", user) == 1


def test_unknown_email_is_refused_by_every_user_command(app: Flask, db_session: Session) -> None:
    for arguments in (
        ["disable"],
        ["enable"],
        ["set-roles", "--none"],
        ["set-teams", "--none"],
        ["reset-two-factor"],
        ["set-password", "--password", NEW_PASSWORD],
    ):
        command, *options = arguments
        result = invoke(app, users_group, command, "ghost@example.org", *options)
        refused(result, "ghost@example.org")


def test_teams_create_list_and_members(app: Flask, db_session: Session, ctx: Context) -> None:
    created = invoke(app, teams_group, "create", "east", "--name", "East")
    assert created.exit_code == 0, created.output
    assert count_events(db_session, "team.create") == 1
    refused(invoke(app, teams_group, "create", "east", "--name", "Again"), "exists")
    east = accounts.team_by_slug(ctx, "east")
    assert east is not None
    UserFactory(email="m2@example.org", role=Role.AUDITOR, teams=[east], disabled=True)
    UserFactory(email="m1@example.org", role=Role.RESEARCHER, teams=[east])
    UserFactory(email="outsider@example.org")
    listed = invoke(app, teams_group, "list")
    assert listed.output.splitlines() == ["east\tEast\tmembers=2"]
    members = invoke(app, teams_group, "members", "east")
    assert members.output.splitlines() == [
        "m1@example.org\troles=researcher\tactive",
        "m2@example.org\troles=auditor\tdisabled",
    ]
    refused(invoke(app, teams_group, "members", "west"), "west")


# -- the real command: one line per refusal ---------------------------------------------


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with one administrator and one team."""
    environment = clean_environment(tmp_path / "instance")
    assert_ok(run(["db", "upgrade"], tmp_path, environment))
    assert_ok(run(["teams", "create", "north", "--name", "North"], tmp_path, environment))
    admin = ["--email", "admin@example.org", "--name", "Admin", "--role", "admin"]
    assert_ok(run(["users", "create", *admin, "--password", NEW_PASSWORD], tmp_path, environment))
    return environment


def test_refusals_are_one_line_with_a_non_zero_status(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    def one_line(arguments: list[str], *names: str) -> int:
        result = run(arguments, tmp_path, environ)
        assert_one_line_error(result, *names)
        return result.returncode

    assert one_line(["users", "disable", "admin@example.org"], "last active administrator") == 1
    assert one_line(["users", "enable", "ghost@example.org"], "ghost@example.org") == 1
    assert one_line(["users", "set-teams", "admin@example.org", "--team", "x"], "'x'") == 1
    assert one_line(["users", "reset-two-factor", "admin@example.org"], "no second factor") == 1
    assert one_line(["users", "set-roles", "admin@example.org"], "--none") == 2
    assert one_line(["users", "set-roles", "admin@example.org", "--role", "wizard"], "wizard") == 2
    assert one_line(["teams", "members", "south"], "south") == 1
    no_terminal = run(["users", "set-password", "admin@example.org"], tmp_path, environ)
    assert no_terminal.returncode == 1 and "Traceback" not in no_terminal.stderr
    listed = run(["users", "list"], tmp_path, environ)
    assert_ok(listed)
    assert listed.stdout == "admin@example.org\troles=admin\tteams=-\tactive\t2fa=off\n"


def test_a_session_of_commands_changes_what_it_says(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    steps = [
        ["users", "set-teams", "admin@example.org", "--team", "north"],
        ["users", "set-roles", "admin@example.org", "--role", "admin", "--role", "auditor"],
        ["users", "set-password", "admin@example.org", "--password", NEW_PASSWORD + "!"],
    ]
    for step in steps:
        result = run(step, tmp_path, environ)
        assert_ok(result)
        assert result.stderr == ""
    members = run(["teams", "members", "north"], tmp_path, environ)
    assert_ok(members)
    assert members.stdout == "admin@example.org\troles=admin,auditor\tactive\n"
