"""Reports: one sourced account each, linked to an incident once triaged."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, Text
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
from incidents.models.incident import Incident
from incidents.models.organisation import TeamScoped
from incidents.models.source import Source
from incidents.models.vocabularies import Channel, ReportStatus


class Report(Versioned, TeamScoped, Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("credibility BETWEEN 1 AND 6", name="credibility"),
        Index("ix_reports_team_id_received_on_id", "team_id", "received_on", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Public like an incident's: a pseudonymous label, which an advocacy lead needs to name
    # the report an action relies on. The title stays restricted: researchers write it.
    reference: Mapped[str] = public(String(20), unique=True, comment="e.g. RPT-2017-0003")
    title: Mapped[str] = restricted(String(300), comment="non-identifying label for lists")
    source_id: Mapped[uuid.UUID | None] = restricted(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True
    )
    incident_id: Mapped[uuid.UUID | None] = restricted(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    received_on: Mapped[date] = restricted(Date)
    channel: Mapped[Channel] = restricted(enum_type(Channel, "channel"))
    language: Mapped[str | None] = restricted(String(35), comment="BCP 47 tag")
    narrative: Mapped[bytes | None] = secret("the account as given, encrypted")
    credibility: Mapped[int] = restricted(
        SmallInteger, default=6, comment="information credibility 1-6 (Admiralty scale)"
    )
    status: Mapped[ReportStatus] = restricted(
        enum_type(ReportStatus, "report_status"), default=ReportStatus.NEW
    )
    rejection_reason: Mapped[str | None] = restricted(Text, comment="why triage rejected it")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    source: Mapped[Source | None] = relationship(lazy="joined")
    incident: Mapped[Incident | None] = relationship()
