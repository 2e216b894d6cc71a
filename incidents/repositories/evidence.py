"""Queries on evidence files and the reports they belong to."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.evidence import Evidence
from incidents.models.report import Report


def report_by_reference(session: Session, reference: str) -> Report | None:
    return session.scalars(select(Report).where(Report.reference == reference)).one_or_none()


def evidence_by_id(session: Session, evidence_id: uuid.UUID) -> Evidence | None:
    return session.get(Evidence, evidence_id)


def evidence_of_reports(
    session: Session, report_ids: Collection[uuid.UUID], team_ids: Collection[uuid.UUID]
) -> Sequence[Evidence]:
    """Evidence of the given reports that belongs to one of `team_ids`, oldest first."""
    if not report_ids or not team_ids:
        return []
    return session.scalars(
        select(Evidence)
        .where(Evidence.report_id.in_(report_ids), Evidence.team_id.in_(team_ids))
        .order_by(Evidence.received_at, Evidence.id)
    ).all()


def is_erased(session: Session, report: Report) -> bool:
    tombstone = session.scalars(
        select(Erasure.id).where(
            Erasure.record_table == Report.__tablename__, Erasure.record_id == report.id
        )
    ).first()
    return tombstone is not None


def erased_reports(session: Session, report_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `report_ids` were erased (have a tombstone)."""
    if not report_ids:
        return set()
    return set(
        session.scalars(
            select(Erasure.record_id).where(
                Erasure.record_table == Report.__tablename__, Erasure.record_id.in_(report_ids)
            )
        )
    )
