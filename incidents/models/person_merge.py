"""Merges of duplicate people: which record was merged into which, what moved, and
whether the merge was undone. Nothing identifying: references, ids and dates only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, Versioned, restricted, utcnow, uuid_pk
from incidents.models.organisation import TeamScoped

_ACTIVE = text("undone_at IS NULL")


class PersonMerge(Versioned, TeamScoped, Base):
    """`merged` was recorded twice: its acts and consents were moved to `kept`. Both
    records stay; undoing moves exactly the rows named here back. The lock stops two
    people undoing the same merge at once."""

    __tablename__ = "person_merges"
    __table_args__ = (
        CheckConstraint("kept_id <> merged_id", name="two_people"),
        # A person is merged into one other at a time (undone merges aside).
        Index(
            "ix_person_merges_one_active_per_person",
            "merged_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kept_id: Mapped[uuid.UUID] = restricted(ForeignKey("persons.id"), index=True)
    merged_id: Mapped[uuid.UUID] = restricted(ForeignKey("persons.id"), index=True)
    moved_act_ids: Mapped[list[str]] = restricted(
        JSON, default=list, comment="ids of the acts moved to the kept person"
    )
    moved_consent_ids: Mapped[list[str]] = restricted(
        JSON, default=list, comment="ids of the consents moved to the kept person"
    )
    merged_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    merged_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    merged_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
    undone_at: Mapped[datetime | None] = restricted(UtcDateTime)
    undone_by: Mapped[str | None] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    undone_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))

    @property
    def is_active(self) -> bool:
        return self.undone_at is None
