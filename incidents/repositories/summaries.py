"""Queries behind redacted case summaries: the reports a summary may count, and the
advocacy linked to them. Reads public and restricted columns only; nothing decrypted."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from incidents.models.advocacy import ActionLink, ActionResponse, AdvocacyAction
from incidents.models.erasure import Erasure
from incidents.models.incident import Incident
from incidents.models.report import Report
from incidents.models.vocabularies import ReportStatus


def countable_reports(session: Session, incident: Incident) -> Sequence[Report]:
    """The incident's reports that a summary may count, consent aside: of its team,
    neither erased nor rejected at triage (as corroboration counts them)."""
    erased = exists().where(
        Erasure.record_table == Report.__tablename__, Erasure.record_id == Report.id
    )
    return session.scalars(
        select(Report)
        .where(
            Report.incident_id == incident.id,
            Report.team_id == incident.team_id,
            Report.status != ReportStatus.REJECTED,
            ~erased,
        )
        .order_by(Report.reference)
    ).all()


def reports_by_ids(session: Session, ids: Collection[uuid.UUID]) -> Sequence[Report]:
    if not ids:
        return []
    return session.scalars(
        select(Report).where(Report.id.in_(list(ids))).order_by(Report.reference)
    ).all()


def actions_linked_to(
    session: Session, report_ids: Collection[uuid.UUID], team_id: uuid.UUID
) -> Sequence[AdvocacyAction]:
    """The team's advocacy actions linked to any of the reports, in the order they began."""
    if not report_ids:
        return []
    return session.scalars(
        select(AdvocacyAction)
        .where(
            AdvocacyAction.team_id == team_id,
            select(ActionLink.id)
            .where(
                ActionLink.action_id == AdvocacyAction.id,
                ActionLink.report_id.in_(list(report_ids)),
            )
            .exists(),
        )
        .order_by(AdvocacyAction.start_date, AdvocacyAction.reference)
    ).all()


def responses_to(session: Session, action_ids: Collection[uuid.UUID]) -> Sequence[ActionResponse]:
    """The responses the actions received, oldest first."""
    if not action_ids:
        return []
    return session.scalars(
        select(ActionResponse)
        .where(ActionResponse.action_id.in_(list(action_ids)))
        .order_by(ActionResponse.date, ActionResponse.created_at)
    ).all()
