"""Tombstones of crypto-shredded records: what was erased, when, why and by whom."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, restricted, utcnow, uuid_pk


class Erasure(Base):
    __tablename__ = "erasures"
    __table_args__ = (UniqueConstraint("record_table", "record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = restricted(String(63))
    record_id: Mapped[uuid.UUID] = restricted(Uuid)
    reference: Mapped[str | None] = restricted(String(40), index=True)
    team_id: Mapped[uuid.UUID] = restricted(Uuid)
    erased_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    erased_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    erased_by_id: Mapped[uuid.UUID | None] = restricted(Uuid)
    reason: Mapped[str] = restricted(Text, comment="why; must not identify anyone")
