"""Accounts: users, their roles and team memberships, and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, relationship

from incidents.db import Base, UtcDateTime, created_at, enum_type, restricted, system, uuid_pk
from incidents.models.organisation import Team
from incidents.models.vocabularies import Role

if TYPE_CHECKING:
    from incidents.permissions import TokenGrant

# Where a User loaded for an API request keeps its token's grant: in the instance's own
# dictionary, beside (not among) the mapped attributes, so it is no column and SQLAlchemy
# neither saves nor expires it.
_TOKEN_GRANT = "_token_grant"  # noqa: S105 (an attribute name)
# Likewise, the mark of a User loaded for a session opened with the duress password.
_UNDER_DURESS = "_under_duress"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = restricted(String(254), unique=True, comment="lower-cased login")
    display_name: Mapped[str] = restricted(String(200))
    password_hash: Mapped[str] = system(String(200), comment="Argon2id PHC string")
    is_active: Mapped[bool] = restricted(Boolean, default=True)
    created_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None] = restricted(UtcDateTime)
    password_changed_at: Mapped[datetime | None] = restricted(UtcDateTime)
    totp_secret: Mapped[bytes | None] = system(
        LargeBinary, comment="TOTP secret sealed with the account's data key (two_factor.py)"
    )
    totp_enabled_at: Mapped[datetime | None] = restricted(
        UtcDateTime, comment="set when the first code confirmed the enrolment"
    )
    totp_last_step: Mapped[int | None] = system(
        BigInteger, comment="time step of the last accepted code; older or equal ones are replays"
    )
    # The follow-up calendar feed's token (SHA-256 hex): the feed's address carries the
    # token, so a calendar application can read it without a session. None: no feed.
    calendar_token_hash: Mapped[str | None] = system(String(64), unique=True)
    two_factor_exempt: Mapped[bool] = restricted(
        Boolean, default=False, comment="demo accounts only; ignored in production"
    )
    # An auditor who sees the whole audit log, every team's events and every account's,
    # rather than their own teams' (services/audit_scope.py); granted by an administrator.
    installation_auditor: Mapped[bool] = restricted(
        Boolean, default=False, comment="auditor of the whole log, not only their teams'"
    )
    duress_password_hash: Mapped[str | None] = system(
        String(200), comment="Argon2id PHC string of the duress password (services/duress.py)"
    )
    password_locked_at: Mapped[datetime | None] = restricted(
        UtcDateTime, comment="set by a duress login: the password is refused until unlocked"
    )

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
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
        """The teams whose records this user sees: none at all under duress, which is
        what empties every case list and page of a duress session."""
        if self.under_duress:
            return frozenset()
        return frozenset(m.team_id for m in self.memberships)

    @property
    def member_teams(self) -> list[Team]:
        """The teams of this user's memberships, as `team_ids` counts them (none under
        duress): the teams a form offers for a new record."""
        allowed = self.team_ids
        return [m.team for m in self.memberships if m.team_id in allowed]

    @property
    def under_duress(self) -> bool:
        """Whether this loaded user is the principal of a duress session."""
        return bool(self.__dict__.get(_UNDER_DURESS))

    def act_under_duress(self) -> None:
        """Make this loaded user the principal of a duress session (the web boundary
        only, for the session's own requests)."""
        self.__dict__[_UNDER_DURESS] = True

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def token_grant(self) -> TokenGrant | None:
        """The API token this user is acting through in this request, or None: a browser
        session or the command line. The permission checks narrow to its scopes."""
        grant: TokenGrant | None = self.__dict__.get(_TOKEN_GRANT)
        return grant

    def act_through_token(self, grant: TokenGrant) -> None:
        """Make this loaded user act with `grant` (services/api_tokens.authenticate only:
        the object is the principal of one API request)."""
        self.__dict__[_TOKEN_GRANT] = grant


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
    scopes: Mapped[str] = restricted(
        Text, comment="space-separated scope names (incidents/permissions.py Scope)"
    )
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = restricted(UtcDateTime)
    revoked_at: Mapped[datetime | None] = restricted(UtcDateTime)
    last_used_at: Mapped[datetime | None] = restricted(UtcDateTime)


class RecoveryCode(Base):
    """A single-use second factor for a lost authenticator; only a hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = restricted(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = system(
        String(64), comment="SHA-256 hex of the code (80 random bits, so no slow hash needed)"
    )
    created_at: Mapped[datetime] = created_at()
    used_at: Mapped[datetime | None] = restricted(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="recovery_codes")


class UserSession(Base):
    """A logged-in browser. The cookie carries a random token; only its hash is stored, and
    ending the row (logout, password/role/2FA change, disable, timeout) ends the session."""

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = restricted(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = system(String(64), unique=True, comment="SHA-256 hex of the token")
    created_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime] = restricted(UtcDateTime)
    confirmed_at: Mapped[datetime] = restricted(
        UtcDateTime, comment="last time the password was entered in this session (re-auth)"
    )
    user_agent: Mapped[str] = restricted(String(200), default="")
    ended_at: Mapped[datetime | None] = restricted(UtcDateTime, index=True)
    end_reason: Mapped[str | None] = restricted(
        String(32), comment="logout, idle, expired, password, roles, two-factor, disabled…"
    )
    duress: Mapped[bool] = restricted(
        Boolean, default=False, comment="opened with the duress password: shows no case record"
    )

    user: Mapped[User] = relationship()
