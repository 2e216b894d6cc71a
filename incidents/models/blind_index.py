"""Blind-index entries: truncated keyed hashes of normalised secret values, for lookups
without decryption. A match is only a candidate until decryption confirms it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, created_at, system, uuid_pk


class BlindIndexEntry(Base):
    __tablename__ = "blind_index_entries"
    __table_args__ = (
        # Covering for lookups: the words of a query are intersected on this index alone.
        Index(
            "ix_blind_index_entries_index_name_value_record_id",
            "index_name",
            "value",
            "record_id",
        ),
        # Record id first: a lookup's `record_table = ?` (true of most rows) must never
        # tempt the planner away from (index_name, value).
        Index("ix_blind_index_entries_record_id_record_table", "record_id", "record_table"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    index_name: Mapped[str] = system(String(40), comment="e.g. person_name")
    record_table: Mapped[str] = system(String(63))
    record_id: Mapped[uuid.UUID] = system(Uuid)
    team_id: Mapped[uuid.UUID] = system(Uuid)
    master_key_id: Mapped[str] = system(
        String(64), index=True, comment="the master key the index key was derived from"
    )
    value: Mapped[bytes] = system(LargeBinary, comment="HMAC-SHA256, truncated")
    created_at: Mapped[datetime] = created_at()
