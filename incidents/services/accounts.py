"""Accounts: users, roles, team memberships and teams (users:manage, or the operator).

Every change is audited in the caller's transaction. Changes that alter what a person
may do or how they prove who they are (password, roles, disabling) end every session of
that person; membership changes take effect on the next request without that, since
teams are read afresh on every request. A change of roles or teams, and disabling,
revokes every API token of the person too: a token never outlives the access it was
made under.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.organisation import Team
from incidents.models.user import TeamMembership, User, UserRole
from incidents.models.vocabularies import Role
from incidents.permissions import Permission, ensure
from incidents.records.inputs import parse_id
from incidents.repositories import accounts as account_queries
from incidents.services import api_tokens, audit_grants, passwords, sessions
from incidents.services.passwords import PasswordRejected
from incidents.sqlite_locking import write_lock_released

MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 63
MAX_EMAIL_LENGTH = 254


def ensure_manager(ctx: Context) -> None:
    """Administration is for those who manage users (PermissionDenied for anyone else)."""
    ensure(ctx.principal, Permission.USERS_MANAGE)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def personal_words(email: str, display_name: str) -> list[str]:
    """What a password must not be built on: the person's e-mail, its name part, their name."""
    email = normalise_email(email)
    return [email, email.partition("@")[0], display_name.strip()]


def hash_password(password: str, user_inputs: Iterable[str] = (), field: str = "password") -> str:
    """Argon2id hash of a password that passes the rules; ValidationError otherwise."""
    try:
        return passwords.hash_password(password, user_inputs)
    except PasswordRejected as exc:
        raise ValidationError.on(field, str(exc)) from None


def find_user_by_email(ctx: Context, email: str) -> User | None:
    ensure_manager(ctx)
    return account_queries.user_by_email(ctx.session, normalise_email(email))


def user_by_id(ctx: Context, user_id: object) -> User | None:
    """The user with this id (a UUID or its text), or None for anything else."""
    ensure_manager(ctx)
    key = user_id if isinstance(user_id, uuid.UUID) else parse_id(str(user_id))
    return None if key is None else account_queries.user_by_id(ctx.session, key)


def team_by_slug(ctx: Context, slug: str) -> Team | None:
    ensure_manager(ctx)
    return account_queries.team_by_slug(ctx.session, slug)


def all_users(ctx: Context) -> list[User]:
    ensure_manager(ctx)
    return account_queries.all_users(ctx.session)


def all_teams(ctx: Context) -> list[Team]:
    ensure_manager(ctx)
    return account_queries.all_teams(ctx.session)


def team_members(ctx: Context, team: Team) -> list[User]:
    ensure_manager(ctx)
    return account_queries.team_members(ctx.session, team.id)


def team_member_counts(ctx: Context) -> dict[uuid.UUID, int]:
    ensure_manager(ctx)
    return account_queries.team_member_counts(ctx.session)


def create_team(ctx: Context, slug: str, name: str) -> Team:
    ensure_manager(ctx)
    slug, name = slug.strip().lower(), name.strip()
    if not slug or len(slug) > MAX_SLUG_LENGTH or not all(c.isalnum() or c == "-" for c in slug):
        raise ValidationError.on(
            "slug",
            f"Use 1 to {MAX_SLUG_LENGTH} letters, digits and hyphens for the short name, "
            "e.g. north-caucasus.",
        )
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationError.on(
            "name", f"Give the team a name of at most {MAX_NAME_LENGTH} characters."
        )
    if account_queries.team_by_slug(ctx.session, slug) is not None:
        raise ValidationError.on(
            "slug", f"A team with the short name {slug} exists; choose another."
        )
    team = Team(slug=slug, name=name)
    ctx.session.add(team)
    ctx.session.flush()
    record_event(ctx.session, ctx.actor, AuditAction.TEAM_CREATE, team, fields=["slug", "name"])
    return team


def create_user(
    ctx: Context,
    email: str,
    display_name: str,
    password: str,
    roles: Iterable[Role] = (),
    teams: Iterable[Team] = (),
) -> User:
    ensure_manager(ctx)
    email = normalise_email(email)
    display_name = display_name.strip()
    roles, teams = sorted(set(roles)), list(teams)
    local, _, domain = email.partition("@")
    if (
        not local
        or "." not in domain
        or len(email) > MAX_EMAIL_LENGTH
        or any(c.isspace() for c in email)
    ):
        raise ValidationError.on(
            "email", f"Enter an e-mail address such as name@example.org, not {email!r}."
        )
    if not display_name or len(display_name) > MAX_NAME_LENGTH:
        raise ValidationError.on(
            "display_name", f"Give the user a name of at most {MAX_NAME_LENGTH} characters."
        )
    _refuse_taken_email(ctx, email)
    with write_lock_released(ctx.session) as released:
        password_hash = hash_password(password, personal_words(email, display_name))
    if released:  # someone may have taken the e-mail while the hash was made
        _refuse_taken_email(ctx, email)
    user = User(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        password_changed_at=utcnow(),
    )
    user.roles = [UserRole(role=role) for role in roles]
    user.memberships = [TeamMembership(team_id=team.id) for team in teams]
    ctx.session.add(user)
    ctx.session.flush()
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_CREATE,
        user,
        fields=["email", "display_name", "roles", "teams"],
        detail={"roles": [r.value for r in roles], "teams": [t.slug for t in teams]},
    )
    return user


def _refuse_taken_email(ctx: Context, email: str) -> None:
    if account_queries.user_by_email(ctx.session, email) is not None:
        raise ValidationError.on("email", f"A user with the e-mail {email} exists already.")


def set_password(ctx: Context, user: User, password: str, now: datetime | None = None) -> None:
    """An administrator's (or the operator's) new password for `user`; their sessions end."""
    ensure_manager(ctx)
    change_password(ctx, user, password, now)


def change_password(
    ctx: Context, user: User, password: str, now: datetime | None = None, field: str = "password"
) -> None:
    """Set `user`'s password — an administrator's reset, or the user's own change once
    their current password is checked; every session of the user ends."""
    if not (isinstance(ctx.principal, User) and ctx.principal.id == user.id):
        ensure_manager(ctx)
    with write_lock_released(ctx.session):
        password_hash = hash_password(
            password, personal_words(user.email, user.display_name), field
        )
    user.password_hash = password_hash
    user.password_changed_at = now or utcnow()
    sessions.end_all_sessions(ctx, user, sessions.EndReason.PASSWORD, now)
    record_event(
        ctx.session, ctx.actor, AuditAction.USER_PASSWORD_CHANGE, user, fields=["password_hash"]
    )


def _refuse_losing_the_last_admin(ctx: Context, user: User, field: str) -> None:
    if (
        Role.ADMIN in user.role_set
        and user.is_active
        and account_queries.active_admin_count(ctx.session) <= 1
    ):
        raise ValidationError.on(
            field, "This is the last active administrator: make another administrator first."
        )


def _refuse_granting_yourself_case_access(ctx: Context, user: User, field: str) -> None:
    """Separation of duties: an administrator does not open case records to themselves;
    another administrator (or the operator at the command line) must, and is audited."""
    if ctx.actor.user_id is not None and ctx.actor.user_id == user.id:
        raise ValidationError.on(
            field, f"You cannot give yourself {field}: another administrator must."
        )


def set_roles(ctx: Context, user: User, roles: Iterable[Role]) -> bool:
    """Give `user` exactly `roles`; returns False when nothing changed. Ends their sessions."""
    ensure_manager(ctx)
    wanted = set(roles)
    before = user.role_set
    if wanted == before:
        return False
    if Role.ADMIN not in wanted:
        _refuse_losing_the_last_admin(ctx, user, "roles")
    if wanted - before:
        _refuse_granting_yourself_case_access(ctx, user, "roles")
    user.roles = [r for r in user.roles if r.role in wanted] + [
        UserRole(role=role) for role in sorted(wanted - before)
    ]
    sessions.end_all_sessions(ctx, user, sessions.EndReason.ROLES)
    api_tokens.revoke_all(ctx, user, api_tokens.RevokeReason.ROLES)
    audit_grants.drop_with_the_auditor_role(ctx, user)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_ROLES_CHANGE,
        user,
        fields=["roles"],
        detail={
            "before": sorted(r.value for r in before),
            "after": sorted(r.value for r in wanted),
        },
    )
    ctx.session.flush()
    return True


def set_teams(ctx: Context, user: User, teams: Iterable[Team]) -> bool:
    """Make `user` a member of exactly `teams`; returns False when nothing changed."""
    ensure_manager(ctx)
    wanted = {team.id: team for team in teams}
    before = user.team_ids
    if set(wanted) == before:
        return False
    if set(wanted) - before:
        _refuse_granting_yourself_case_access(ctx, user, "teams")
    slugs_before = sorted(m.team.slug for m in user.memberships)
    user.memberships = [m for m in user.memberships if m.team_id in wanted] + [
        TeamMembership(team_id=team_id) for team_id in wanted if team_id not in before
    ]
    api_tokens.revoke_all(ctx, user, api_tokens.RevokeReason.TEAMS)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_TEAMS_CHANGE,
        user,
        fields=["teams"],
        detail={"before": slugs_before, "after": sorted(t.slug for t in wanted.values())},
    )
    ctx.session.flush()
    return True


def disable_user(ctx: Context, user: User) -> None:
    """The account can no longer log in; every session of it ends at once."""
    ensure_manager(ctx)
    if ctx.actor.user_id == user.id:
        raise ValidationError.on("user", "You cannot disable your own account.")
    if not user.is_active:
        return
    _refuse_losing_the_last_admin(ctx, user, "user")
    user.is_active = False
    sessions.end_all_sessions(ctx, user, sessions.EndReason.DISABLED)
    api_tokens.revoke_all(ctx, user, api_tokens.RevokeReason.DISABLED)
    record_event(ctx.session, ctx.actor, AuditAction.USER_DISABLE, user, fields=["is_active"])


def enable_user(ctx: Context, user: User) -> None:
    ensure_manager(ctx)
    if user.is_active:
        return
    user.is_active = True
    record_event(ctx.session, ctx.actor, AuditAction.USER_ENABLE, user, fields=["is_active"])
