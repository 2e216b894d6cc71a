"""Aggregates over an incident's reports: how many, from how many distinct sources of
each kind, at which grades. Counted in SQL over restricted columns: nothing decrypted,
no row loaded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.models.vocabularies import ReportStatus, SourceReliability


def _linked_and_kept(incident_id: uuid.UUID, team_id: uuid.UUID) -> list[ColumnElement[bool]]:
    """Reports of the incident, in its team, that were not erased."""
    erased = exists().where(
        Erasure.record_table == Report.__tablename__, Erasure.record_id == Report.id
    )
    return [Report.incident_id == incident_id, Report.team_id == team_id, ~erased]


def _counts() -> ColumnElement[bool]:
    # A report rejected at triage corroborates nothing; it is counted apart.
    return Report.status != ReportStatus.REJECTED


def reports_by_source_kind(
    session: Session, incident_id: uuid.UUID, team_id: uuid.UUID
) -> Sequence[Row[Any]]:
    """Per source kind (None: reports without a source): reports counted, distinct
    sources among them, reports rejected (one statement)."""
    counts = _counts()
    return session.execute(
        select(
            Source.kind,
            func.sum(case((counts, 1), else_=0)).label("reports"),
            func.count(distinct(case((counts, Report.source_id)))).label("sources"),
            func.sum(case((counts, 0), else_=1)).label("rejected"),
        )
        .select_from(Report)
        .outerjoin(Source, Source.id == Report.source_id)
        .where(*_linked_and_kept(incident_id, team_id))
        .group_by(Source.kind)
    ).all()


def reports_by_grade(
    session: Session, incident_id: uuid.UUID, team_id: uuid.UUID
) -> Sequence[Row[SourceReliability, int, int]]:
    """Reports counted per source reliability (None: no source) and credibility (one
    statement)."""
    return session.execute(
        select(Source.reliability, Report.credibility, func.count().label("reports"))
        .select_from(Report)
        .outerjoin(Source, Source.id == Report.source_id)
        .where(*_linked_and_kept(incident_id, team_id), _counts())
        .group_by(Source.reliability, Report.credibility)
    ).all()
