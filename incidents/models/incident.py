"""Incidents (events), their violation types and the authorities' responses to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, relationship

from incidents.db import (
    Base,
    Versioned,
    created_at,
    enum_type,
    public,
    restricted,
    secret,
    updated_at,
    uuid_pk,
)
from incidents.models.organisation import TeamScoped
from incidents.models.vocabularies import (
    DatePrecision,
    IncidentStatus,
    StateResponseKind,
    ViolationType,
)


class Incident(Versioned, TeamScoped, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("estimated_victims IS NULL OR estimated_victims >= 0", name="victims"),
        # A team's list pages by reference through this: its page reads its own rows.
        Index("ix_incidents_team_id_reference", "team_id", "reference"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reference: Mapped[str] = public(String(20), unique=True, comment="e.g. INC-2017-0001")
    title: Mapped[str] = public(String(300), comment="non-identifying")
    summary: Mapped[str] = public(Text, default="", comment="public, non-identifying summary")
    narrative: Mapped[bytes | None] = secret("full account, encrypted")
    country: Mapped[str | None] = public(String(2), comment="ISO 3166-1 alpha-2")
    region: Mapped[str | None] = public(String(200))
    place_detail: Mapped[bytes | None] = secret("precise places, encrypted")
    start_date: Mapped[date | None] = restricted(Date)
    start_precision: Mapped[DatePrecision] = restricted(
        enum_type(DatePrecision, "start_precision"), default=DatePrecision.UNKNOWN
    )
    end_date: Mapped[date | None] = restricted(Date)
    end_precision: Mapped[DatePrecision] = restricted(
        enum_type(DatePrecision, "end_precision"), default=DatePrecision.UNKNOWN
    )
    status: Mapped[IncidentStatus] = public(
        enum_type(IncidentStatus, "incident_status"), default=IncidentStatus.REPORTED, index=True
    )
    estimated_victims: Mapped[int | None] = public(Integer)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    violations: Mapped[list[IncidentViolation]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="IncidentViolation.violation_type",
    )
    state_responses: Mapped[list[StateResponse]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="StateResponse.date"
    )

    @property
    def violation_types(self) -> list[ViolationType]:
        return [v.violation_type for v in self.violations]

    @violation_types.setter
    def violation_types(self, types: list[ViolationType]) -> None:
        kept = {v.violation_type: v for v in self.violations}
        self.violations = [
            kept.get(t) or IncidentViolation(violation_type=t) for t in dict.fromkeys(types)
        ]

    @property
    def start_month_year(self) -> str | None:
        """The public form of the start date: month and year at most."""
        if self.start_date is None or self.start_precision is DatePrecision.UNKNOWN:
            return None
        if self.start_precision is DatePrecision.YEAR:
            return f"{self.start_date:%Y}"
        return f"{self.start_date:%Y-%m}"


class IncidentViolation(Base):
    __tablename__ = "incident_violations"

    incident_id: Mapped[uuid.UUID] = public(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    violation_type: Mapped[ViolationType] = public(
        enum_type(ViolationType, "violation_type"), primary_key=True
    )

    incident: Mapped[Incident] = relationship(back_populates="violations")


class StateResponse(Versioned, TeamScoped, Base):
    """One step of the official timeline: a denial, a statement, an investigation, charges."""

    __tablename__ = "state_responses"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = public(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[StateResponseKind] = public(enum_type(StateResponseKind, "state_response_kind"))
    date: Mapped[date | None] = public(Date)
    date_precision: Mapped[DatePrecision] = public(
        enum_type(DatePrecision, "date_precision"), default=DatePrecision.UNKNOWN
    )
    authority: Mapped[str] = public(String(300), comment="who responded, as published")
    description: Mapped[str] = public(Text, default="", comment="the published response")
    supporting_report_id: Mapped[uuid.UUID | None] = restricted(
        ForeignKey("reports.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()

    incident: Mapped[Incident] = relationship(back_populates="state_responses")
