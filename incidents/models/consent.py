"""Consent: per person or source, per use, revocable; enforced by the services."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey
from sqlalchemy.orm import Mapped

from incidents.db import Base, Versioned, created_at, enum_type, restricted, secret, uuid_pk
from incidents.models.organisation import TeamScoped
from incidents.models.vocabularies import ConsentUse


class Consent(Versioned, TeamScoped, Base):
    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (source_id IS NULL)", name="person_or_source"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID | None] = restricted(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[uuid.UUID | None] = restricted(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    use: Mapped[ConsentUse] = restricted(enum_type(ConsentUse, "consent_use"))
    granted_on: Mapped[date] = restricted(Date)
    recorded_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
    revoked_on: Mapped[date | None] = restricted(Date)
    notes: Mapped[bytes | None] = secret("conditions in the person's words, encrypted")
    created_at: Mapped[datetime] = created_at()

    @property
    def is_active(self) -> bool:
        return self.revoked_on is None
