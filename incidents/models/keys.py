"""Wrapped per-record data keys. Deleting a row crypto-shreds its record."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, created_at, restricted, system, uuid_pk


class DataKey(Base):
    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("record_table", "record_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = system(String(63))
    record_id: Mapped[uuid.UUID] = system(Uuid)
    team_id: Mapped[uuid.UUID] = system(
        Uuid, comment="bound into the wrapped key's associated data"
    )
    master_key_id: Mapped[str] = system(String(64), index=True)
    wrapped_key: Mapped[bytes] = system(
        LargeBinary, comment="version | nonce | AES-GCM(master key, data key)"
    )
    created_at: Mapped[datetime] = created_at()
    rewrapped_at: Mapped[datetime | None] = restricted(UtcDateTime)
