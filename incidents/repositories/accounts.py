"""Queries on users, teams, sessions and recovery codes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from incidents.models.organisation import Team
from incidents.models.user import (
    ApiToken,
    RecoveryCode,
    TeamMembership,
    User,
    UserRole,
    UserSession,
)
from incidents.models.vocabularies import Role


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def team_by_slug(session: Session, slug: str) -> Team | None:
    return session.scalars(select(Team).where(Team.slug == slug)).one_or_none()


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def all_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.slug)))


def active_admin_count(session: Session) -> int:
    query = (
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True))
    )
    return int(session.scalar(query) or 0)


def session_by_token_hash(session: Session, token_hash: str) -> UserSession | None:
    return session.scalars(
        select(UserSession).where(UserSession.token_hash == token_hash)
    ).one_or_none()


def end_open_sessions(session: Session, user_id: uuid.UUID, when: datetime, reason: str) -> int:
    """Mark every open session of the user ended; returns how many there were."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=when, end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return _rows_changed(result)


def open_sessions(session: Session, user_id: uuid.UUID) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .order_by(UserSession.created_at.desc())
        )
    )


def _rows_changed(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def advance_totp_step(session: Session, user_id: uuid.UUID, step: int) -> bool:
    """Record `step` as the last accepted TOTP step if it is later than the recorded one;
    False when it is not (a replay, or a concurrent request that used it first)."""
    result = session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return _rows_changed(result) == 1


def mark_recovery_code_used(
    session: Session, user_id: uuid.UUID, code_hash: str, when: datetime
) -> bool:
    """Mark the unused code with this hash used; False when there is none (or a concurrent
    request used it first)."""
    unused = (
        select(RecoveryCode.id)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .limit(1)
        .scalar_subquery()
    )
    result = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == unused, RecoveryCode.used_at.is_(None))
        .values(used_at=when)
        .execution_options(synchronize_session=False)
    )
    return _rows_changed(result) == 1


def unused_recovery_code_count(session: Session, user_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def team_members(session: Session, team_id: uuid.UUID) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(TeamMembership, TeamMembership.user_id == User.id)
            .where(TeamMembership.team_id == team_id)
            .order_by(User.email)
        )
    )


def team_member_counts(session: Session) -> dict[uuid.UUID, int]:
    """Members per team id; teams without members are absent."""
    query = select(TeamMembership.team_id, func.count()).group_by(TeamMembership.team_id)
    return {team_id: int(count) for team_id, count in session.execute(query)}


def members_and_their_tokens(
    session: Session, team_ids: Collection[uuid.UUID]
) -> tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]:
    """The users who are members of any of these teams, and the ids of every API token of
    theirs, revoked ones included (one statement)."""
    if not team_ids:
        return frozenset(), frozenset()
    rows = session.execute(
        select(TeamMembership.user_id, ApiToken.id)
        .outerjoin(ApiToken, ApiToken.user_id == TeamMembership.user_id)
        .where(TeamMembership.team_id.in_(sorted(team_ids)))
    ).all()
    members = frozenset(user_id for user_id, _token in rows)
    return members, frozenset(token for _user, token in rows if token is not None)
