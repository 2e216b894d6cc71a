"""Evidence files attached to reports: metadata here, encrypted content in the evidence store."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, created_at, restricted, secret, system, uuid_pk
from incidents.models.organisation import TeamScoped


class Evidence(TeamScoped, Base):
    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = uuid_pk()
    report_id: Mapped[uuid.UUID] = restricted(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = restricted(String(64), comment="hex SHA-256 of the original at intake")
    size_bytes: Mapped[int] = restricted(BigInteger)
    media_type: Mapped[str] = restricted(String(127), comment="checked from the content")
    captured_at: Mapped[datetime | None] = restricted(UtcDateTime)
    filename: Mapped[bytes | None] = secret("original file name, encrypted")
    description: Mapped[bytes | None] = secret("encrypted")
    storage_key: Mapped[str | None] = system(
        String(100), comment="opaque name in the evidence store; never derived from the filename"
    )
    received_at: Mapped[datetime] = created_at()
