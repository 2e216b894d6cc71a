"""Queries on incidents and the records that hang off them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from incidents.models.advocacy import ActionLink, AdvocacyAction
from incidents.models.incident import Incident
from incidents.models.person import Act
from incidents.models.report import Report


def incident_page(
    session: Session, team_ids: Collection[uuid.UUID] | None, after: str | None, limit: int
) -> Sequence[Incident]:
    """Incidents of the given teams (None: of every team) ordered by reference, after
    `after` (keyset paging)."""
    statement = select(Incident)
    if team_ids is not None:
        statement = statement.where(Incident.team_id.in_(team_ids))
    if after:
        statement = statement.where(Incident.reference > after)
    return session.scalars(statement.order_by(Incident.reference).limit(limit)).all()


def reports_of_incident(session: Session, incident: Incident) -> Sequence[Report]:
    return session.scalars(
        select(Report).where(Report.incident_id == incident.id).order_by(Report.received_on)
    ).all()


def acts_of_incident(session: Session, incident: Incident) -> Sequence[Act]:
    """The incident's acts with their people (one query, however many acts)."""
    return session.scalars(
        select(Act)
        .options(joinedload(Act.person))
        .where(Act.incident_id == incident.id)
        .order_by(Act.start_date)
    ).all()


def actions_supported_by(session: Session, incident: Incident) -> Sequence[AdvocacyAction]:
    """Advocacy actions linked to any report of the incident."""
    return session.scalars(
        select(AdvocacyAction)
        .join(ActionLink, ActionLink.action_id == AdvocacyAction.id)
        .join(Report, Report.id == ActionLink.report_id)
        .where(Report.incident_id == incident.id)
        .distinct()
        .order_by(AdvocacyAction.start_date, AdvocacyAction.reference)
    ).all()
