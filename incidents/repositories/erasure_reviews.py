"""Queries on the erasure review queue and on the reports that went out under consent."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from incidents.models.consent import Consent
from incidents.models.disclosure import ReportDisclosure
from incidents.models.erasure_review import ErasureReview, ReviewState
from incidents.models.report import Report
from incidents.models.vocabularies import ConsentUse

DECIDED_SHOWN = 50  # the latest decisions shown under the queue


def pending_rows(
    session: Session, table: str, record_ids: Collection[uuid.UUID]
) -> Sequence[ErasureReview]:
    """The pending reviews of those of `record_ids` (rows of `table`), by reference."""
    if not record_ids:
        return []
    return session.scalars(
        select(ErasureReview)
        .where(
            ErasureReview.record_table == table,
            ErasureReview.record_id.in_(list(record_ids)),
            ErasureReview.state == ReviewState.PENDING,
        )
        .order_by(ErasureReview.reference)
    ).all()


def locked(session: Session, review_id: uuid.UUID) -> ErasureReview | None:
    """The review, read afresh and held until the transaction ends, so that two people
    deciding it at once decide one after the other (PostgreSQL; SQLite has one writer)."""
    return session.scalars(
        select(ErasureReview)
        .where(ErasureReview.id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def queue(
    session: Session, team_ids: Collection[uuid.UUID] | None, state: ReviewState | None
) -> Sequence[ErasureReview]:
    """The reviews of these teams (every team for None): the pending ones oldest first,
    or the latest decided (`state` None) newest first."""
    statement = select(ErasureReview)
    if team_ids is not None:
        statement = statement.where(ErasureReview.team_id.in_(list(team_ids)))
    if state is ReviewState.PENDING:
        statement = statement.where(ErasureReview.state == ReviewState.PENDING).order_by(
            ErasureReview.raised_at, ErasureReview.reference
        )
    else:
        statement = (
            statement.where(ErasureReview.state != ReviewState.PENDING)
            .order_by(ErasureReview.decided_at.desc())
            .limit(DECIDED_SHOWN)
        )
    return session.scalars(statement).all()


def pending_from_owner(session: Session, owner_column: str, owner_id: uuid.UUID) -> Sequence[Any]:
    """The pending reviews raised by withdrawals of the owner's (a person's or a
    source's) consents: the owner itself and, for a source, its reports."""
    return session.scalars(
        select(ErasureReview)
        .join(Consent, Consent.id == ErasureReview.consent_id)
        .where(
            getattr(Consent, owner_column) == owner_id,
            ErasureReview.state == ReviewState.PENDING,
        )
        .order_by(ErasureReview.reference)
    ).all()


# -- what went out under consent ------------------------------------------------------------


def add_disclosures(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT for every report of a summary page or an export."""
    if rows:
        session.execute(insert(ReportDisclosure), list(rows))


def teams_of_reports(session: Session, report_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not report_ids:
        return {}
    rows = session.execute(select(Report.id, Report.team_id).where(Report.id.in_(report_ids)))
    return {report_id: team_id for report_id, team_id in rows}


def disclosures_of(
    session: Session, report_ids: Collection[uuid.UUID], use: ConsentUse, since: datetime
) -> Sequence[tuple[ReportDisclosure, str]]:
    """The disclosures of these reports under `use` made from `since` on, each with its
    report's reference, newest first."""
    if not report_ids:
        return []
    rows = session.execute(
        select(ReportDisclosure, Report.reference)
        .join(Report, Report.id == ReportDisclosure.report_id)
        .where(
            ReportDisclosure.report_id.in_(list(report_ids)),
            ReportDisclosure.use == use,
            ReportDisclosure.disclosed_at >= since,
        )
        .order_by(ReportDisclosure.disclosed_at.desc(), Report.reference)
    )
    return [(disclosure, reference) for disclosure, reference in rows]
