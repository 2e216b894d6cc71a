"""`incidents users …` and `incidents teams …`.

The same services and rules as the administration pages (last administrator, password
rules, sessions ended on role, password and two-factor changes), with the operator as
the audited actor. Each command is one unit of work.
"""

from __future__ import annotations

import click

from incidents.cli.boundary import as_operator
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models.organisation import Team
from incidents.models.user import User
from incidents.models.vocabularies import Role
from incidents.services import accounts, audit_grants, two_factor

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _user(ctx: Context, email: str) -> User:
    user = accounts.find_user_by_email(ctx, email)
    if user is None:
        raise ValidationError(f"No user has the e-mail {email!r} (see `incidents users list`).")
    return user


def _teams(ctx: Context, slugs: tuple[str, ...]) -> list[Team]:
    found = []
    for slug in slugs:
        team = accounts.team_by_slug(ctx, slug)
        if team is None:
            raise ValidationError(f"No team has the slug {slug!r} (see `incidents teams list`).")
        found.append(team)
    return found


def _exactly(values: tuple[str, ...], none: bool, option: str) -> None:
    """Refuse an empty list given by accident: emptying one needs --none, said on purpose."""
    if values and none:
        raise click.UsageError(f"give {option} or --none, not both")
    if not values and not none:
        raise click.UsageError(f"give {option} at least once, or --none to remove every one")


def _joined(values: list[str]) -> str:
    return ",".join(sorted(values)) or "-"


@click.group("users")
def users_group() -> None:
    """User accounts: create, list, roles, teams, disable, passwords, two-factor."""


@users_group.command("create")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", "display_name", required=True, help="Name shown in the interface.")
@click.option(
    "--role", "roles", multiple=True, type=ROLE_CHOICE, help="A role; repeat for several."
)
@click.option("--team", "teams", multiple=True, help="A team slug; repeat for several.")
@click.password_option(help="At least 12 characters; asked for when not given.")
@as_operator
def users_create(
    ctx: Context,
    email: str,
    display_name: str,
    roles: tuple[str, ...],
    teams: tuple[str, ...],
    password: str,
) -> str:
    """Create a user with roles and team memberships."""
    user = accounts.create_user(
        ctx, email, display_name, password, [Role(r) for r in roles], _teams(ctx, teams)
    )
    return f"created user {user.email}"


@users_group.command("list")
@as_operator
def users_list(ctx: Context) -> None:
    """List users: e-mail, roles, teams, active or disabled, two-factor on or off."""
    for user in accounts.all_users(ctx):
        roles = _joined([r.value for r in user.role_set])
        teams = _joined([m.team.slug for m in user.memberships])
        state = "active" if user.is_active else "disabled"
        second = "on" if user.has_two_factor else "off"
        whole = "\tinstallation-auditor" if user.installation_auditor else ""
        click.echo(f"{user.email}\troles={roles}\tteams={teams}\t{state}\t2fa={second}{whole}")


@users_group.command("disable")
@click.argument("email")
@as_operator
def users_disable(ctx: Context, email: str) -> str:
    """Disable the account EMAIL: no more logins, and its sessions end now."""
    user = _user(ctx, email)
    accounts.disable_user(ctx, user)
    return f"disabled {user.email}; every session of theirs has ended"


@users_group.command("enable")
@click.argument("email")
@as_operator
def users_enable(ctx: Context, email: str) -> str:
    """Enable the disabled account EMAIL again."""
    user = _user(ctx, email)
    accounts.enable_user(ctx, user)
    return f"enabled {user.email}"


@users_group.command("set-roles")
@click.argument("email")
@click.option(
    "--role", "roles", multiple=True, type=ROLE_CHOICE, help="A role; repeat for several."
)
@click.option("--none", "no_roles", is_flag=True, help="Remove every role.")
@as_operator
def users_set_roles(ctx: Context, email: str, roles: tuple[str, ...], no_roles: bool) -> str:
    """Give EMAIL exactly the roles named (or none, with --none); their sessions end."""
    _exactly(roles, no_roles, "--role")
    user = _user(ctx, email)
    before = _joined([r.value for r in user.role_set])
    if not accounts.set_roles(ctx, user, [Role(r) for r in roles]):
        return f"roles of {user.email} unchanged: {before}"
    after = _joined([r.value for r in user.role_set])
    return f"roles of {user.email}: {before} -> {after}; every session of theirs has ended"


@users_group.command("set-teams")
@click.argument("email")
@click.option("--team", "teams", multiple=True, help="A team slug; repeat for several.")
@click.option("--none", "no_teams", is_flag=True, help="Remove every team membership.")
@as_operator
def users_set_teams(ctx: Context, email: str, teams: tuple[str, ...], no_teams: bool) -> str:
    """Make EMAIL a member of exactly the teams named (or none, with --none)."""
    _exactly(teams, no_teams, "--team")
    user, found = _user(ctx, email), _teams(ctx, teams)
    before = _joined([m.team.slug for m in user.memberships])
    if not accounts.set_teams(ctx, user, found):
        return f"teams of {user.email} unchanged: {before}"
    return f"teams of {user.email}: {before} -> {_joined([t.slug for t in found])}"


@users_group.command("installation-auditor")
@click.argument("email")
@click.option(
    "--grant/--revoke",
    "granted",
    default=None,
    help="See the whole audit log (--grant), or only one's teams' part again (--revoke).",
)
@as_operator
def users_installation_auditor(ctx: Context, email: str, granted: bool | None) -> str:
    """Let the auditor EMAIL see the whole audit log, every team's, or no longer."""
    if granted is None:
        raise click.UsageError("give --grant or --revoke")
    user = _user(ctx, email)
    if not audit_grants.set_installation_auditor(ctx, user, granted):
        state = "is" if granted else "is not"
        return f"{user.email} {state} an installation auditor already; nothing changed"
    if granted:
        return f"{user.email} is an installation auditor: they see the whole audit log"
    return f"{user.email} is no longer an installation auditor: they see their teams' part"


@users_group.command("reset-two-factor")
@click.argument("email")
@as_operator
def users_reset_two_factor(ctx: Context, email: str) -> str:
    """Remove the second factor of EMAIL (a lost phone); they enrol again at next login."""
    user = _user(ctx, email)
    if not two_factor.reset(ctx, user):
        raise ValidationError(f"{user.email} has no second factor to reset.")
    return f"removed the second factor of {user.email}; every session of theirs has ended"


@users_group.command("set-password")
@click.argument("email")
@click.password_option(help="At least 12 characters; asked for (twice) when not given.")
@as_operator
def users_set_password(ctx: Context, email: str, password: str) -> str:
    """Set a new password for EMAIL; every session of theirs ends."""
    user = _user(ctx, email)
    accounts.set_password(ctx, user, password)
    return f"set a new password for {user.email}; every session of theirs has ended"


@click.group("teams")
def teams_group() -> None:
    """Teams (compartments of case records)."""


@teams_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Team name shown in the interface.")
@as_operator
def teams_create(ctx: Context, slug: str, name: str) -> str:
    """Create a team with the short name SLUG."""
    team = accounts.create_team(ctx, slug, name)
    return f"created team {team.slug}"


@teams_group.command("list")
@as_operator
def teams_list(ctx: Context) -> None:
    """List teams: slug, name, number of members."""
    counts = accounts.team_member_counts(ctx)
    for team in accounts.all_teams(ctx):
        click.echo(f"{team.slug}\t{team.name}\tmembers={counts.get(team.id, 0)}")


@teams_group.command("members")
@click.argument("slug")
@as_operator
def teams_members(ctx: Context, slug: str) -> None:
    """List the members of the team SLUG with their roles."""
    team = _teams(ctx, (slug,))[0]
    for user in accounts.team_members(ctx, team):
        roles = _joined([r.value for r in user.role_set])
        state = "active" if user.is_active else "disabled"
        click.echo(f"{user.email}\troles={roles}\t{state}")
