"""Queries on incidents and the records that hang off them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

from incidents.models.advocacy import ActionLink, AdvocacyAction
from incidents.models.incident import Incident, IncidentViolation
from incidents.models.person import Act
from incidents.models.report import Report
from incidents.models.vocabularies import IncidentStatus, ViolationType


@dataclass(frozen=True)
class IncidentQuery:
    """What the incident list is narrowed to; each a public field (the list is seen by
    every reader), the start by month as the list shows it."""

    status: IncidentStatus | None = None
    violation_type: ViolationType | None = None
    country: str | None = None
    region: str | None = None  # a part of the region's name, any case
    began_from: date | None = None
    began_before: date | None = None
    reference: str | None = None  # the start of a reference


# Past this many teams (an administrator's view of most of them) the reference index
# finds a page soon enough, and a scan per team would not pay.
MAX_TEAM_SCANS = 20


def incident_page(
    session: Session,
    team_ids: Collection[uuid.UUID] | None,
    after: str | None,
    limit: int,
    query: IncidentQuery | None = None,
) -> Sequence[Incident]:
    """Incidents of the given teams (None: of every team) ordered by reference, after
    `after` (keyset paging).

    For a few teams the page is a union of one keyset scan per team on its (team_id,
    reference) index, each stopping at a page: a small team's page reads its own rows,
    not the references of every team until enough of its own turn up."""
    statement = filtered_incidents(select(Incident), query or IncidentQuery())
    if after:
        statement = statement.where(Incident.reference > after)
    if team_ids is not None and len(team_ids) <= MAX_TEAM_SCANS:
        if not team_ids:
            return []
        ids = statement.with_only_columns(Incident.id)
        scans = [
            select(scan.c.id).select_from(scan)  # each scan a subquery: SQLite limits it so
            for scan in (
                _by_reference(ids.where(Incident.team_id == team_id), limit).subquery()
                for team_id in sorted(team_ids)
            )
        ]
        page = union_all(*scans).subquery()
        statement = select(Incident).where(Incident.id.in_(select(page.c.id)))
    elif team_ids is not None:
        statement = statement.where(Incident.team_id.in_(team_ids))
    return session.scalars(_by_reference(statement, limit)).all()


def _by_reference(statement: Select[Any], limit: int) -> Select[Any]:
    return statement.order_by(Incident.reference).limit(limit)


def filtered_incidents(statement: Select[Any], query: IncidentQuery) -> Select[Any]:
    """`statement` (of incidents) narrowed to what `query` asks for: the incident list's
    filters, which the API's list of incidents takes too."""
    if query.status is not None:
        statement = statement.where(Incident.status == query.status)
    if query.violation_type is not None:
        statement = statement.where(
            select(IncidentViolation.incident_id)
            .where(
                IncidentViolation.incident_id == Incident.id,
                IncidentViolation.violation_type == query.violation_type,
            )
            .exists()
        )
    if query.country:
        statement = statement.where(Incident.country == query.country)
    if query.region:
        statement = statement.where(
            func.lower(Incident.region).contains(query.region.lower(), autoescape=True)
        )
    if query.began_from is not None:
        statement = statement.where(Incident.start_date >= query.began_from)
    if query.began_before is not None:
        statement = statement.where(Incident.start_date < query.began_before)
    if query.reference:
        statement = statement.where(Incident.reference.startswith(query.reference, autoescape=True))
    return statement


def reports_of_incident(session: Session, incident: Incident) -> Sequence[Report]:
    return session.scalars(
        select(Report).where(Report.incident_id == incident.id).order_by(Report.received_on)
    ).all()


def acts_of_incident(session: Session, incident: Incident) -> Sequence[Act]:
    """The incident's acts with their people and perpetrators (two queries, however many
    acts)."""
    return session.scalars(
        select(Act)
        .options(joinedload(Act.person), selectinload(Act.involvements))
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
