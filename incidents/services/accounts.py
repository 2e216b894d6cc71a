"""Accounts: users, roles, team memberships, logging in and out.

Every change is audited in the caller's transaction. Changes that alter what a person
may do or how they prove who they are (password, roles, disabling) end every session of
that person; membership changes take effect on the next request without that, since
teams are read afresh on every request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.organisation import Team
from incidents.models.user import TeamMembership, User, UserRole
from incidents.models.vocabularies import Role
from incidents.repositories import accounts as account_queries
from incidents.services import passwords, sessions
from incidents.services.passwords import PasswordRejected

MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 63


def normalise_email(email: str) -> str:
    return email.strip().lower()


def personal_words(email: str, display_name: str) -> list[str]:
    """What a password must not be built on: the person's e-mail, its name part, their name."""
    email = normalise_email(email)
    return [email, email.partition("@")[0], display_name.strip()]


def hash_password(password: str, user_inputs: Iterable[str] = ()) -> str:
    """Argon2id hash of a password that passes the rules; ValidationError otherwise."""
    try:
        return passwords.hash_password(password, user_inputs)
    except PasswordRejected as exc:
        raise ValidationError(f"password not accepted: {exc}", {"password": str(exc)}) from None


def find_user_by_email(session: Session, email: str) -> User | None:
    return account_queries.user_by_email(session, normalise_email(email))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = find_user_by_email(session, email)
    if not passwords.verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.rehash(password)
    return user


def check_password(session: Session, user: User, password: str) -> bool:
    """Re-authentication: is this the user's current password?"""
    return user.is_active and passwords.verify_password(user.password_hash, password)


def record_login_failure(
    session: Session, user: User | None = None, step: str = "password"
) -> None:
    """A failed attempt is recorded without the e-mail typed: it may be a password typed in
    the wrong box. A failed second factor names the account, whose password was right."""
    if user is None:
        record_event(session, Actor("anonymous"), "login.failure", detail={"step": step})
    else:
        record_event(session, actor_of(user), "login.failure", user, detail={"step": step})


def record_login_success(session: Session, user: User, second_factor: str | None) -> None:
    user.last_login_at = utcnow()
    record_event(
        session, actor_of(user), "login.success", user, detail={"second_factor": second_factor}
    )


def log_out(session: Session, user: User) -> None:
    record_event(session, actor_of(user), "logout", user)


def actor_of(user: User) -> Actor:
    return Actor(user.email, user.id)


def team_by_slug(session: Session, slug: str) -> Team | None:
    return account_queries.team_by_slug(session, slug)


def create_team(session: Session, actor: Actor, slug: str, name: str) -> Team:
    slug, name = slug.strip().lower(), name.strip()
    if not slug or len(slug) > MAX_SLUG_LENGTH or not all(c.isalnum() or c == "-" for c in slug):
        raise ValidationError(
            "a team slug is 1–63 letters, digits and hyphens, e.g. north-caucasus",
            {"slug": "letters, digits and hyphens"},
        )
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationError("a team needs a name (at most 200 characters)", {"name": "required"})
    if team_by_slug(session, slug) is not None:
        raise ValidationError(f"a team with the slug {slug!r} exists", {"slug": "taken"})
    team = Team(slug=slug, name=name)
    session.add(team)
    session.flush()
    record_event(session, actor, "team.create", team, fields=["slug", "name"])
    return team


def create_user(
    session: Session,
    actor: Actor,
    email: str,
    display_name: str,
    password: str,
    roles: Iterable[Role] = (),
    teams: Iterable[Team] = (),
) -> User:
    email = normalise_email(email)
    display_name = display_name.strip()
    roles, teams = sorted(set(roles)), list(teams)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationError(f"{email!r} is not an e-mail address", {"email": "invalid"})
    if not display_name or len(display_name) > MAX_NAME_LENGTH:
        raise ValidationError(
            "a user needs a name (at most 200 characters)", {"display_name": "required"}
        )
    if find_user_by_email(session, email) is not None:
        raise ValidationError(f"a user with the e-mail {email} exists", {"email": "taken"})
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password, personal_words(email, display_name)),
        password_changed_at=utcnow(),
    )
    user.roles = [UserRole(role=role) for role in roles]
    user.memberships = [TeamMembership(team_id=team.id) for team in teams]
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        "user.create",
        user,
        fields=["email", "display_name", "roles", "teams"],
        detail={"roles": [r.value for r in roles], "teams": [t.slug for t in teams]},
    )
    return user


def set_password(
    session: Session, actor: Actor, user: User, password: str, now: datetime | None = None
) -> None:
    """Set a new password (an administrator's reset, or the user's own change once their
    current password is checked); every session of the user ends."""
    user.password_hash = hash_password(password, personal_words(user.email, user.display_name))
    user.password_changed_at = now or utcnow()
    sessions.end_all_sessions(session, user, sessions.EndReason.PASSWORD, now)
    record_event(session, actor, "user.password_change", user, fields=["password_hash"])


def change_own_password(
    session: Session, user: User, current_password: str, new_password: str
) -> None:
    if not check_password(session, user, current_password):
        raise ValidationError(
            "the current password is not right", {"current_password": "not right"}
        )
    if new_password == current_password:
        raise ValidationError(
            "the new password is the same as the current one", {"new_password": "unchanged"}
        )
    set_password(session, actor_of(user), user, new_password)


def _refuse_losing_the_last_admin(session: Session, user: User) -> None:
    if (
        Role.ADMIN in user.role_set
        and user.is_active
        and account_queries.active_admin_count(session) <= 1
    ):
        raise ValidationError(
            "this is the last active administrator; make another administrator first",
            {"roles": "last administrator"},
        )


def _refuse_granting_yourself_case_access(actor: Actor, user: User, what: str) -> None:
    """Separation of duties: an administrator does not open case records to themselves;
    another administrator (or the operator at the command line) must, and is audited."""
    if actor.user_id is not None and actor.user_id == user.id:
        raise ValidationError(
            f"you cannot give yourself {what}; another administrator must",
            {"roles" if what.startswith("role") else "teams": "not for yourself"},
        )


def set_roles(session: Session, actor: Actor, user: User, roles: Iterable[Role]) -> bool:
    """Give `user` exactly `roles`; returns False when nothing changed. Ends their sessions."""
    wanted = set(roles)
    before = user.role_set
    if wanted == before:
        return False
    if Role.ADMIN not in wanted:
        _refuse_losing_the_last_admin(session, user)
    if wanted - before:
        _refuse_granting_yourself_case_access(actor, user, "roles")
    user.roles = [r for r in user.roles if r.role in wanted] + [
        UserRole(role=role) for role in sorted(wanted - before)
    ]
    sessions.end_all_sessions(session, user, sessions.EndReason.ROLES)
    record_event(
        session,
        actor,
        "user.roles_change",
        user,
        fields=["roles"],
        detail={
            "before": sorted(r.value for r in before),
            "after": sorted(r.value for r in wanted),
        },
    )
    session.flush()
    return True


def set_teams(session: Session, actor: Actor, user: User, teams: Iterable[Team]) -> bool:
    """Make `user` a member of exactly `teams`; returns False when nothing changed."""
    wanted = {team.id: team for team in teams}
    before = user.team_ids
    if set(wanted) == before:
        return False
    if set(wanted) - before:
        _refuse_granting_yourself_case_access(actor, user, "teams")
    slugs_before = sorted(m.team.slug for m in user.memberships)
    user.memberships = [m for m in user.memberships if m.team_id in wanted] + [
        TeamMembership(team_id=team_id) for team_id in wanted if team_id not in before
    ]
    record_event(
        session,
        actor,
        "user.teams_change",
        user,
        fields=["teams"],
        detail={"before": slugs_before, "after": sorted(t.slug for t in wanted.values())},
    )
    session.flush()
    return True


def disable_user(session: Session, actor: Actor, user: User) -> None:
    """The account can no longer log in; every session of it ends at once."""
    if actor.user_id == user.id:
        raise ValidationError("you cannot disable your own account", {"user": "yourself"})
    if not user.is_active:
        return
    _refuse_losing_the_last_admin(session, user)
    user.is_active = False
    sessions.end_all_sessions(session, user, sessions.EndReason.DISABLED)
    record_event(session, actor, "user.disable", user, fields=["is_active"])


def enable_user(session: Session, actor: Actor, user: User) -> None:
    if user.is_active:
        return
    user.is_active = True
    record_event(session, actor, "user.enable", user, fields=["is_active"])


def all_users(session: Session) -> list[User]:
    return account_queries.all_users(session)


def all_teams(session: Session) -> list[Team]:
    return account_queries.all_teams(session)


def user_by_id(session: Session, user_id: object) -> User | None:
    """The user with this id (a UUID or its text), or None for anything else."""
    try:
        key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    return account_queries.user_by_id(session, key)


def team_members(session: Session, team: Team) -> list[User]:
    return account_queries.team_members(session, team.id)


def team_member_counts(session: Session) -> dict[uuid.UUID, int]:
    return account_queries.team_member_counts(session)
