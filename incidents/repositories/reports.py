"""Queries on reports and sources for their list and detail pages: one statement per
page, whatever its size, with the source and incident of each report joined in."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session, joinedload

from incidents.models.incident import Incident
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.models.vocabularies import (
    Channel,
    ReportStatus,
    RiskLevel,
    SourceKind,
    SourceReliability,
)
from incidents.repositories.records import where_given


@dataclass(frozen=True)
class ReportQuery:
    status: ReportStatus | None = None
    channel: Channel | None = None
    credibility: int | None = None
    source_kind: SourceKind | None = None
    reliability: SourceReliability | None = None
    received_from: date | None = None
    received_to: date | None = None
    incident: str | None = None  # a reference
    source: str | None = None  # a reference
    reference: str | None = None  # the start of a reference
    oldest_first: bool = False


def report_page(
    session: Session,
    teams: Collection[uuid.UUID] | None,
    query: ReportQuery,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> Sequence[Report]:
    statement: Select[Any] = select(Report).options(joinedload(Report.incident))
    if teams is not None:
        statement = statement.where(Report.team_id.in_(list(teams)))
    statement = filtered_reports(statement, query)
    key = tuple_(Report.received_on, Report.id)
    if after is not None:
        statement = statement.where(
            key > tuple_(*after) if query.oldest_first else key < tuple_(*after)
        )
    order: tuple[Any, ...] = (Report.received_on, Report.id)
    if not query.oldest_first:
        order = (Report.received_on.desc(), Report.id.desc())
    reports: Sequence[Report] = (
        session.scalars(statement.order_by(*order).limit(limit)).unique().all()
    )
    return reports


def filtered_reports(statement: Select[Any], query: ReportQuery) -> Select[Any]:
    """`statement` (of reports) narrowed to what `query` asks for (its order aside): the
    report list's filters, which the API's list of reports takes too."""
    if query.source_kind is not None or query.reliability is not None or query.source:
        statement = statement.join(Source, Source.id == Report.source_id)
    if query.incident:
        statement = statement.join(Incident, Incident.id == Report.incident_id).where(
            Incident.reference == query.incident
        )
    statement = where_given(
        statement,
        [
            (Report.status, query.status),
            (Report.channel, query.channel),
            (Report.credibility, query.credibility),
            (Source.kind, query.source_kind),
            (Source.reliability, query.reliability),
            (Source.reference, query.source),
        ],
    )
    if query.received_from is not None:
        statement = statement.where(Report.received_on >= query.received_from)
    if query.received_to is not None:
        statement = statement.where(Report.received_on <= query.received_to)
    if query.reference:
        statement = statement.where(Report.reference.startswith(query.reference, autoescape=True))
    return statement


@dataclass(frozen=True)
class SourceQuery:
    kind: SourceKind | None = None
    reliability: SourceReliability | None = None
    risk_level: RiskLevel | None = None
    reference: str | None = None


def source_page(
    session: Session,
    teams: Collection[uuid.UUID] | None,
    query: SourceQuery,
    after: str | None,
    limit: int,
) -> Sequence[tuple[Source, int]]:
    """Sources in order of reference, each with its number of reports."""
    reports = select(func.count(Report.id)).where(Report.source_id == Source.id).scalar_subquery()
    statement = select(Source, reports)
    if teams is not None:
        statement = statement.where(Source.team_id.in_(list(teams)))
    statement = filtered_sources(statement, query)
    if after:
        statement = statement.where(Source.reference > after)
    rows = session.execute(statement.order_by(Source.reference).limit(limit)).all()
    return [(source, int(count)) for source, count in rows]


def filtered_sources(statement: Select[Any], query: SourceQuery) -> Select[Any]:
    """`statement` (of sources) narrowed to what `query` asks for: the source list's
    filters, which the API's list of sources takes too."""
    statement = where_given(
        statement,
        [
            (Source.kind, query.kind),
            (Source.reliability, query.reliability),
            (Source.risk_level, query.risk_level),
        ],
    )
    if query.reference:
        statement = statement.where(Source.reference.startswith(query.reference, autoescape=True))
    return statement


def reports_from(session: Session, source: Source) -> Sequence[Report]:
    return session.scalars(
        select(Report)
        .options(joinedload(Report.incident))
        .where(Report.source_id == source.id)
        .order_by(Report.received_on.desc(), Report.id)
    ).all()
