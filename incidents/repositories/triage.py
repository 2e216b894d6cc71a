"""The triage queue's one query: new reports of some teams, oldest first, a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.models.vocabularies import ReportStatus


def new_reports(
    session: Session,
    team_ids: Collection[uuid.UUID] | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """Up to `limit` new reports of the teams (None: of every team) that were not erased,
    by date received and then id, after the (date, id) `after` (keyset paging).

    Only the columns a queue row shows are read, the source's kind and reliability with
    them in the same statement: no ciphertext is loaded, and one statement serves a
    page of any size.
    """
    erased = (
        select(Erasure.id)
        .where(Erasure.record_table == Report.__tablename__, Erasure.record_id == Report.id)
        .exists()
    )
    statement = (
        select(
            Report.id,
            Report.reference,
            Report.title,
            Report.received_on,
            Report.channel,
            Report.credibility,
            Report.lock_version,
            Source.kind.label("source_kind"),
            Source.reliability.label("source_reliability"),
        )
        .outerjoin(Source, Source.id == Report.source_id)
        .where(Report.status == ReportStatus.NEW, ~erased)
    )
    if team_ids is not None:
        statement = statement.where(Report.team_id.in_(list(team_ids)))
    if after is not None:
        received_on, report_id = after
        statement = statement.where(
            or_(
                Report.received_on > received_on,
                and_(Report.received_on == received_on, Report.id > report_id),
            )
        )
    return session.execute(statement.order_by(Report.received_on, Report.id).limit(limit)).all()
