"""Retention rules and legal holds: how long a kind of record (or one of its secret
fields) is kept, counted from which of its dates, and which records must be kept however
long the rules say. Nothing identifying: kinds, field names, periods and references."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, created_at, enum_type, restricted, utcnow, uuid_pk

_HELD = text("released_at IS NULL")


class PeriodUnit(enum.StrEnum):
    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"


class RetentionRule(Base):
    """Records of `kind` (or only their secret `field`) are crypto-shredded once
    `period_count` `period_unit` have passed since their date `from_date`."""

    __tablename__ = "retention_rules"
    __table_args__ = (CheckConstraint("period_count > 0", name="positive_period"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = restricted(String(40), comment="a kind of the record registry")
    field: Mapped[str | None] = restricted(
        String(63), comment="a secret field of the kind; NULL: the whole record"
    )
    period_count: Mapped[int] = restricted(Integer)
    period_unit: Mapped[PeriodUnit] = restricted(enum_type(PeriodUnit, "retention_period_unit"))
    from_date: Mapped[str] = restricted(
        String(40), comment="which date of the record the period runs from"
    )
    created_at: Mapped[datetime] = created_at()
    created_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    created_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))


class LegalHold(Base):
    """The record `reference` (an incident: with its reports, their sources and the
    people of its acts) is kept whatever the retention rules say, until released."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        # One hold in force per record; released holds stay as the record of what was held.
        Index(
            "ix_legal_holds_one_in_force_per_record",
            "reference",
            unique=True,
            sqlite_where=_HELD,
            postgresql_where=_HELD,
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = restricted(String(63))
    record_id: Mapped[uuid.UUID] = restricted(Uuid, index=True)
    reference: Mapped[str] = restricted(String(40))
    team_id: Mapped[uuid.UUID] = restricted(ForeignKey("teams.id"), index=True)
    reason: Mapped[str] = restricted(Text, comment="why; must not identify anyone")
    held_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    held_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    held_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = restricted(UtcDateTime)
    released_by: Mapped[str | None] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    released_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
