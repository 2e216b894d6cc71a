"""Accounts: users, their roles and team memberships, and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, relationship

from incidents.db import Base, UtcDateTime, created_at, enum_type, restricted, system, uuid_pk
from incidents.models.organisation import Team
from incidents.models.vocabularies import Role


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = restricted(String(254), unique=True, comment="lower-cased login")
    display_name: Mapped[str] = restricted(String(200))
    password_hash: Mapped[str] = system(String(200), comment="Argon2id PHC string")
    is_active: Mapped[bool] = restricted(Boolean, default=True)
    created_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None] = restricted(UtcDateTime)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # The interface Flask-Login expects, without importing Flask into the models.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles)

    @property
    def team_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(m.team_id for m in self.memberships)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = restricted(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = restricted(enum_type(Role, "role"), primary_key=True)
    granted_at: Mapped[datetime] = created_at()

    user: Mapped[User] = relationship(back_populates="roles")


class TeamMembership(Base):
    __tablename__ = "team_memberships"

    user_id: Mapped[uuid.UUID] = restricted(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[uuid.UUID] = restricted(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = created_at()

    user: Mapped[User] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the JSON API; only a hash of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = restricted(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = restricted(String(100))
    token_hash: Mapped[str] = system(String(64), unique=True, comment="SHA-256 hex of the token")
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = restricted(UtcDateTime)
    revoked_at: Mapped[datetime | None] = restricted(UtcDateTime)
    last_used_at: Mapped[datetime | None] = restricted(UtcDateTime)
