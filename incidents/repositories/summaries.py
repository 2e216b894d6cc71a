"""Queries behind redacted case summaries: the reports a summary may count, and the
advocacy linked to them. Reads public and restricted columns only; nothing decrypted."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from incidents.models.advocacy import ActionLink, ActionResponse, AdvocacyAction
from incidents.models.erasure import Erasure
from incidents.models.incident import Incident, StateResponse
from incidents.models.report import Report
from incidents.models.vocabularies import ReportStatus


def reports_by_ids(session: Session, ids: Collection[uuid.UUID]) -> Sequence[Report]:
    if not ids:
        return []
    return session.scalars(
        select(Report).where(Report.id.in_(list(ids))).order_by(Report.reference)
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


# -- many incidents at once ----------------------------------------------------------------


def countable_reports_of(
    session: Session, incident_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Report]]:
    """The reports of each of these incidents that a summary may count, consent aside:
    of the incident's team, neither erased nor rejected at triage (as corroboration
    counts them) — one statement for all, by incident."""
    if not incident_ids:
        return {}
    erased = exists().where(
        Erasure.record_table == Report.__tablename__, Erasure.record_id == Report.id
    )
    reports = session.scalars(
        select(Report)
        .join(Incident, Incident.id == Report.incident_id)
        .where(
            Report.incident_id.in_(list(incident_ids)),
            Report.team_id == Incident.team_id,
            Report.status != ReportStatus.REJECTED,
            ~erased,
        )
        .order_by(Report.reference)
    ).all()
    found: dict[uuid.UUID, list[Report]] = {}
    for report in reports:
        assert report.incident_id is not None  # joined on it
        found.setdefault(report.incident_id, []).append(report)
    return found


def state_responses_of(
    session: Session, incident_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[StateResponse]]:
    """The official responses of each of these incidents, by date — one statement."""
    if not incident_ids:
        return {}
    found: dict[uuid.UUID, list[StateResponse]] = {}
    for response in session.scalars(
        select(StateResponse)
        .where(StateResponse.incident_id.in_(list(incident_ids)))
        .order_by(StateResponse.date, StateResponse.id)
    ):
        found.setdefault(response.incident_id, []).append(response)
    return found


def actions_linked_to_reports(
    session: Session, report_ids: Collection[uuid.UUID]
) -> list[tuple[AdvocacyAction, uuid.UUID]]:
    """(action, report) for each link of these reports to an action of the report's team,
    in the order the actions began — one statement."""
    if not report_ids:
        return []
    rows = session.execute(
        select(AdvocacyAction, ActionLink.report_id)
        .join(ActionLink, ActionLink.action_id == AdvocacyAction.id)
        .join(Report, Report.id == ActionLink.report_id)
        .where(ActionLink.report_id.in_(list(report_ids)), AdvocacyAction.team_id == Report.team_id)
        .order_by(AdvocacyAction.start_date, AdvocacyAction.reference, ActionLink.report_id)
    )
    return [(action, report_id) for action, report_id in rows]
