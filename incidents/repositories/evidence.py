"""Queries on evidence files and the reports they belong to."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models.evidence import Evidence


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


def storage_keys(session: Session) -> set[str]:
    """The names of every stored file an evidence row names."""
    return set(
        session.scalars(select(Evidence.storage_key).where(Evidence.storage_key.is_not(None)))
    )
