"""Advocacy: campaigns, actions (HURIDOCS interventions), responses, follow-ups, links."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, relationship

from incidents.db import (
    FIELD_CLASS_KEY,
    Base,
    FieldClass,
    UtcDateTime,
    Versioned,
    advocacy,
    created_at,
    enum_type,
    public,
    updated_at,
    uuid_pk,
)
from incidents.models.organisation import Organisation, TeamScoped
from incidents.models.report import Report
from incidents.models.vocabularies import (
    ActionKind,
    ActionStatus,
    Impact,
    Priority,
    ResponseKind,
)


class Campaign(Versioned, TeamScoped, Base):
    """A set of actions under one banner, e.g. one international day of action."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = public(String(200))
    description: Mapped[str] = public(Text, default="")
    start_date: Mapped[date | None] = public(Date)
    end_date: Mapped[date | None] = public(Date)
    created_at: Mapped[datetime] = created_at()

    actions: Mapped[list[AdvocacyAction]] = relationship(
        back_populates="campaign", order_by="AdvocacyAction.start_date"
    )


action_organisations = Table(
    "action_organisations",
    Base.metadata,
    Column(
        "action_id",
        ForeignKey("advocacy_actions.id", ondelete="CASCADE"),
        primary_key=True,
        info={FIELD_CLASS_KEY: FieldClass.PUBLIC},
    ),
    Column(
        "organisation_id",
        ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
        info={FIELD_CLASS_KEY: FieldClass.PUBLIC},
    ),
)


class AdvocacyAction(Versioned, TeamScoped, Base):
    __tablename__ = "advocacy_actions"
    __table_args__ = (
        CheckConstraint("signatures IS NULL OR signatures >= 0", name="signatures"),
        CheckConstraint("participants IS NULL OR participants >= 0", name="participants"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reference: Mapped[str] = public(String(20), unique=True, comment="e.g. ACT-2017-0002")
    campaign_id: Mapped[uuid.UUID | None] = public(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[ActionKind] = public(enum_type(ActionKind, "action_kind"))
    title: Mapped[str] = public(String(300))
    description: Mapped[str] = public(Text, default="")
    start_date: Mapped[date | None] = public(Date)
    end_date: Mapped[date | None] = public(Date)
    target: Mapped[str | None] = public(String(300), comment="e.g. an embassy, a UN procedure")
    places: Mapped[str | None] = public(String(500))
    demands: Mapped[str | None] = public(Text)
    signatures: Mapped[int | None] = public(Integer)
    participants: Mapped[int | None] = public(Integer)
    priority: Mapped[Priority] = advocacy(enum_type(Priority, "priority"), default=Priority.MEDIUM)
    status: Mapped[ActionStatus] = public(
        enum_type(ActionStatus, "action_status"), default=ActionStatus.PLANNED
    )
    external_reference: Mapped[str | None] = public(
        String(100), comment="e.g. a UN communication number"
    )
    impact: Mapped[Impact] = public(enum_type(Impact, "impact"), default=Impact.UNKNOWN)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    campaign: Mapped[Campaign | None] = relationship(back_populates="actions")
    organisations: Mapped[list[Organisation]] = relationship(
        secondary=action_organisations, order_by=Organisation.name, lazy="selectin"
    )
    responses: Mapped[list[ActionResponse]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionResponse.date"
    )
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="FollowUp.due_on"
    )
    links: Mapped[list[ActionLink]] = relationship(
        back_populates="action", cascade="all, delete-orphan"
    )


class ActionResponse(Versioned, Base):
    """What the target answered."""

    __tablename__ = "action_responses"

    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = public(
        ForeignKey("advocacy_actions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ResponseKind] = public(enum_type(ResponseKind, "response_kind"))
    date: Mapped[date | None] = public(Date)
    text: Mapped[str] = advocacy(Text, default="")
    supporting_report_id: Mapped[uuid.UUID | None] = advocacy(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at()

    action: Mapped[AdvocacyAction] = relationship(back_populates="responses")
    supporting_report: Mapped[Report | None] = relationship()


class FollowUp(Versioned, Base):
    __tablename__ = "follow_ups"

    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = advocacy(
        ForeignKey("advocacy_actions.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = advocacy(Text)
    due_on: Mapped[date | None] = advocacy(Date)
    done_at: Mapped[datetime | None] = advocacy(UtcDateTime)
    assignee_id: Mapped[uuid.UUID | None] = advocacy(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()

    action: Mapped[AdvocacyAction] = relationship(back_populates="follow_ups")


class ActionLink(Versioned, Base):
    """An advocacy action supported by a report (and so by the report's incident)."""

    __tablename__ = "action_links"
    __table_args__ = (UniqueConstraint("action_id", "report_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = advocacy(
        ForeignKey("advocacy_actions.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[uuid.UUID] = advocacy(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = advocacy(Text, default="", comment="what the report supports")
    created_by_id: Mapped[uuid.UUID | None] = advocacy(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at()

    action: Mapped[AdvocacyAction] = relationship(back_populates="links")
    report: Mapped[Report] = relationship()
