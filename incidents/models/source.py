"""Sources of information, rated for reliability apart from what they say."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped

from incidents.db import (
    Base,
    Versioned,
    created_at,
    enum_type,
    restricted,
    secret,
    updated_at,
    uuid_pk,
)
from incidents.models.organisation import TeamScoped
from incidents.models.vocabularies import RiskLevel, SourceKind, SourceReliability


class Source(Versioned, TeamScoped, Base):
    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = uuid_pk()
    reference: Mapped[str] = restricted(String(20), unique=True, comment="e.g. SRC-0007")
    kind: Mapped[SourceKind] = restricted(enum_type(SourceKind, "source_kind"))
    identity: Mapped[bytes | None] = secret("who the source is, encrypted")
    contact: Mapped[bytes | None] = secret("how to reach them, encrypted")
    reliability: Mapped[SourceReliability] = restricted(
        enum_type(SourceReliability, "source_reliability"),
        default=SourceReliability.F,
        comment="Admiralty scale A-F, rated apart from the information",
    )
    risk_level: Mapped[RiskLevel] = restricted(
        enum_type(RiskLevel, "risk_level"), default=RiskLevel.HIGH
    )
    protective_notes: Mapped[bytes | None] = secret("safety measures, encrypted")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
