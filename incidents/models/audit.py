"""Audit events: who did what to which record, never with secret values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, restricted, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # INTEGER on SQLite so that the column is the rowid and increments; the id is the
    # event's position in the log.
    id: Mapped[int] = restricted(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = restricted(
        Uuid, index=True, comment="users.id, kept after the user goes"
    )
    actor: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    action: Mapped[str] = restricted(String(64), index=True, comment="e.g. record.create")
    target_table: Mapped[str | None] = restricted(String(63))
    target_id: Mapped[str | None] = restricted(String(64), index=True)
    target_ref: Mapped[str | None] = restricted(String(40))
    team_id: Mapped[uuid.UUID | None] = restricted(Uuid)
    fields: Mapped[list[str]] = restricted(JSON, default=list, comment="field names, never values")
    detail: Mapped[dict[str, Any]] = restricted(JSON, default=dict)
