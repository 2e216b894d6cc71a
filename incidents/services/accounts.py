"""Accounts: creating users, checking passwords, roles and team memberships."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.organisation import Team
from incidents.models.user import TeamMembership, User, UserRole
from incidents.models.vocabularies import Role
from incidents.repositories import accounts as account_queries

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when no account matches, so an unknown e-mail costs as much time as a
# wrong password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("not-a-password-" + uuid.uuid4().hex)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"password": f"at least {MIN_PASSWORD_LENGTH} characters"},
        )


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def find_user_by_email(session: Session, email: str) -> User | None:
    return account_queries.user_by_email(session, normalise_email(email))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = find_user_by_email(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def log_in(session: Session, email: str, password: str) -> User | None:
    """Check the credentials and audit the attempt; the caller starts the session and commits.

    A failed attempt is recorded without the e-mail: it may be a password typed in the
    wrong box.
    """
    user = authenticate(session, email, password)
    if user is None:
        record_event(session, Actor("anonymous"), "login.failure")
        return None
    user.last_login_at = utcnow()
    record_event(session, Actor(user.email, user.id), "login.success", user)
    return user


def log_out(session: Session, user: User) -> None:
    record_event(session, Actor(user.email, user.id), "logout", user)


def team_by_slug(session: Session, slug: str) -> Team | None:
    return account_queries.team_by_slug(session, slug)


def create_team(session: Session, actor: Actor, slug: str, name: str) -> Team:
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
    if "@" not in email or len(email) > 254:
        raise ValidationError(f"{email!r} is not an e-mail address", {"email": "invalid"})
    if find_user_by_email(session, email) is not None:
        raise ValidationError(f"a user with the e-mail {email} exists", {"email": "taken"})
    user = User(email=email, display_name=display_name, password_hash=hash_password(password))
    user.roles = [UserRole(role=role) for role in sorted(set(roles))]
    user.memberships = [TeamMembership(team_id=team.id) for team in teams]
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        "user.create",
        user,
        fields=["email", "display_name", "roles", "teams"],
        detail={"roles": sorted(r.value for r in roles), "teams": [t.slug for t in teams]},
    )
    return user


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    record_event(session, actor, "user.password_change", user, fields=["password_hash"])


def all_users(session: Session) -> list[User]:
    return account_queries.all_users(session)


def all_teams(session: Session) -> list[Team]:
    return account_queries.all_teams(session)
