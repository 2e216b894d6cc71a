"""Queries on an action's work: its responses, follow-ups and links to reports, each
with what a page shows of the records it names (references, display names) in the same
statement, and the colleagues a follow-up may be assigned to."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, not_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from incidents.models.advocacy import ActionLink, ActionResponse, AdvocacyAction, FollowUp
from incidents.models.incident import Incident
from incidents.models.report import Report
from incidents.models.user import TeamMembership, User
from incidents.models.vocabularies import ActionKind, ConsentUse
from incidents.repositories import consents as consent_queries


@dataclass(frozen=True)
class ResponseRow:
    response: ActionResponse
    supporting_report: str | None  # its reference


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    action_reference: str
    action_title: str
    assignee: str | None  # the assignee's display name


@dataclass(frozen=True)
class LinkRow:
    link: ActionLink
    action: AdvocacyAction
    report: Report
    incident_reference: str | None
    linked_by: str | None  # the display name of who made the link


def responses_of(session: Session, action_id: uuid.UUID) -> list[ResponseRow]:
    """An action's responses, oldest first (the undated last)."""
    rows = session.execute(
        select(ActionResponse, Report.reference)
        .outerjoin(Report, Report.id == ActionResponse.supporting_report_id)
        .where(ActionResponse.action_id == action_id)
        .order_by(ActionResponse.date.is_(None), ActionResponse.date, ActionResponse.created_at)
    )
    return [ResponseRow(response, reference) for response, reference in rows]


def _follow_ups() -> Select[FollowUp, str, str, str]:
    return (
        select(FollowUp, AdvocacyAction.reference, AdvocacyAction.title, User.display_name)
        .join(AdvocacyAction, AdvocacyAction.id == FollowUp.action_id)
        .outerjoin(User, User.id == FollowUp.assignee_id)
    )


def follow_ups_of(session: Session, action_id: uuid.UUID) -> list[FollowUpRow]:
    """An action's follow-ups: the open ones first, by due date (the undated last)."""
    rows = session.execute(
        _follow_ups()
        .where(FollowUp.action_id == action_id)
        .order_by(
            FollowUp.done_at.is_not(None),
            FollowUp.due_on.is_(None),
            FollowUp.due_on,
            FollowUp.created_at,
        )
    )
    return [FollowUpRow(f, ref, title, name) for f, ref, title, name in rows]


def open_follow_ups(
    session: Session,
    teams: Collection[uuid.UUID] | None,
    until: date | None,
    *,
    assignee_id: uuid.UUID | None = None,
) -> list[FollowUpRow]:
    """Follow-ups not done, with a due date on or before `until` (None: any), of the
    actions of `teams` (None: every team) and, if given, assigned to `assignee_id`; the
    earliest due first."""
    statement = _follow_ups().where(FollowUp.done_at.is_(None), FollowUp.due_on.is_not(None))
    if until is not None:
        statement = statement.where(FollowUp.due_on <= until)
    if teams is not None:
        statement = statement.where(AdvocacyAction.team_id.in_(list(teams)))
    if assignee_id is not None:
        statement = statement.where(FollowUp.assignee_id == assignee_id)
    order = (FollowUp.due_on, AdvocacyAction.reference, FollowUp.created_at, FollowUp.id)
    rows = session.execute(statement.order_by(*order))
    return [FollowUpRow(f, ref, title, name) for f, ref, title, name in rows]


@dataclass(frozen=True)
class Unusable:
    """Links whose report lacks, on `on`, a consent its action's kind needs."""

    uses_by_kind: Mapping[ActionKind, Collection[ConsentUse]]
    on: date

    def condition(self) -> ColumnElement[bool]:
        return or_(
            *(
                and_(
                    AdvocacyAction.kind == kind,
                    not_(and_(*(consent_queries.report_usable(u, self.on) for u in uses))),
                )
                for kind, uses in self.uses_by_kind.items()
                if uses
            )
        )


def links(
    session: Session,
    *,
    action_id: uuid.UUID | None = None,
    teams: Collection[uuid.UUID] | None = None,
    link_ids: Collection[uuid.UUID] | None = None,
    unusable: Unusable | None = None,
) -> list[LinkRow]:
    """Links to reports with their actions, reports, incidents' references and makers,
    in one statement: of one action, or of every action of `teams` (None: every team),
    or only those of `link_ids`; with `unusable`, only the links whose report may no
    longer serve its action, judged by the database."""
    creator = aliased(User)
    statement = (
        select(ActionLink, AdvocacyAction, Report, Incident.reference, creator.display_name)
        .join(AdvocacyAction, AdvocacyAction.id == ActionLink.action_id)
        .join(Report, Report.id == ActionLink.report_id)
        .outerjoin(Incident, Incident.id == Report.incident_id)
        .outerjoin(creator, creator.id == ActionLink.created_by_id)
    )
    if action_id is not None:
        statement = statement.where(ActionLink.action_id == action_id)
    if teams is not None:
        statement = statement.where(AdvocacyAction.team_id.in_(list(teams)))
    if link_ids is not None:
        statement = statement.where(ActionLink.id.in_(list(link_ids)))
    if unusable is not None:
        statement = statement.where(unusable.condition())
    rows = session.execute(
        statement.order_by(AdvocacyAction.reference, ActionLink.created_at, Report.reference)
    )
    return [LinkRow(*row) for row in rows]


def link_between(session: Session, action_id: uuid.UUID, report_id: uuid.UUID) -> ActionLink | None:
    return session.scalars(
        select(ActionLink).where(
            ActionLink.action_id == action_id, ActionLink.report_id == report_id
        )
    ).one_or_none()


def members_of(session: Session, team_id: uuid.UUID) -> Sequence[User]:
    """The active users of a team, by display name, with their roles loaded."""
    return session.scalars(
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id, User.is_active.is_(True))
        .options(selectinload(User.roles), selectinload(User.memberships))
        .order_by(User.display_name, User.id)
    ).all()


def report_choices(
    session: Session, team_id: uuid.UUID, limit: int
) -> list[tuple[str, str | None]]:
    """The references of the team's newest reports with their incidents' references:
    what a link form offers (nothing restricted of the report itself)."""
    rows = session.execute(
        select(Report.reference, Incident.reference)
        .outerjoin(Incident, Incident.id == Report.incident_id)
        .where(Report.team_id == team_id)
        .order_by(Report.created_at.desc())
        .limit(limit)
    )
    return [(report, incident) for report, incident in rows]
