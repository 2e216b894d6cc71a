"""Teams (the compartments that own case records) and organisations (who does advocacy)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from incidents.db import Base, Versioned, created_at, enum_type, public, restricted, uuid_pk
from incidents.models.vocabularies import OrganisationKind


class Team(Base):
    """A compartment: every case record belongs to exactly one team."""

    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = restricted(String(64), unique=True)
    name: Mapped[str] = restricted(String(200))
    created_at: Mapped[datetime] = created_at()


class Organisation(Versioned, Base):
    """A named organisation (NGO, media outlet, authority); shared across teams."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = public(String(200), unique=True)
    kind: Mapped[OrganisationKind] = public(enum_type(OrganisationKind, "organisation_kind"))
    country: Mapped[str | None] = public(String(2), comment="ISO 3166-1 alpha-2")
    website: Mapped[str | None] = public(String(300))
    notes: Mapped[str | None] = restricted(Text)
    created_at: Mapped[datetime] = created_at()


class TeamScoped:
    """Mixin for case records: the owning team, which every access check and every
    ciphertext's associated data names."""

    team_id: Mapped[uuid.UUID] = restricted(ForeignKey("teams.id"), index=True)
