"""Tombstones of crypto-shredded records: what was erased, when, why and by whom.

Why is a code (`reason_code`) that anyone who may see the tombstone may read; the
eraser's own words, if any, are a secret note sealed with the tombstone's own data key,
for the researchers of its team only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, enum_type, restricted, secret, utcnow, uuid_pk
from incidents.models.vocabularies import ErasureReason


class Erasure(Base):
    __tablename__ = "erasures"
    __table_args__ = (UniqueConstraint("record_table", "record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = restricted(String(63))
    record_id: Mapped[uuid.UUID] = restricted(Uuid)
    reference: Mapped[str | None] = restricted(String(40), index=True)
    # A key to the teams, as every table with a secret column has: the note is sealed
    # with the team's id in its associated data.
    team_id: Mapped[uuid.UUID] = restricted(Uuid, ForeignKey("teams.id"))
    erased_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    erased_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    erased_by_id: Mapped[uuid.UUID | None] = restricted(Uuid)
    reason_code: Mapped[ErasureReason] = restricted(
        enum_type(ErasureReason, "erasure_reason"), comment="why, as a code"
    )
    reason_note: Mapped[bytes | None] = secret("why, in the eraser's words; for researchers")
