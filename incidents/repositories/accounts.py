"""Queries on users and teams."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models.organisation import Team
from incidents.models.user import User


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def team_by_slug(session: Session, slug: str) -> Team | None:
    return session.scalars(select(Team).where(Team.slug == slug)).one_or_none()


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def all_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.slug)))
