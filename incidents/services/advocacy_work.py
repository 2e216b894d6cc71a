"""An action's responses, follow-ups and links to reports, and the links whose consent
was withdrawn.

A link is flagged when, today, its report may no longer serve what its action's kind
does with reports: a source or a person of the report's incident withdrew a consent
the link relied on (or it lapsed). The link stays until someone removes it; the action
page and the dashboard show it flagged, with the reason in the words of a refusal —
the use and how many people, never who.

Readers need advocacy:read in the action's team (researchers, advocacy leads,
auditors). What is shown of a report is its reference and its incident's reference;
nothing restricted or secret of a case is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models.advocacy import AdvocacyAction
from incidents.models.vocabularies import ResponseKind, label
from incidents.permissions import Permission, can_in_team, ensure
from incidents.repositories import action_work as queries
from incidents.services import consent, follow_ups
from incidents.services.consent_uses import USES_BY_KIND, missing_consents_of


@dataclass(frozen=True)
class ResponseView:
    id: uuid.UUID
    kind: ResponseKind
    kind_label: str
    date: date | None
    text: str
    supporting_report: str | None  # its reference
    lock_version: int


@dataclass(frozen=True)
class LinkView:
    id: uuid.UUID
    report_reference: str
    incident_reference: str | None
    note: str
    linked_by: str | None
    linked_at: datetime
    flagged: bool  # the report may no longer serve this action
    reason: str | None  # why, as a refusal words it
    lock_version: int

    @property
    def incident_summary_url(self) -> str | None:
        """The incident's redacted summary page (a plain path: another area's page)."""
        if self.incident_reference is None:
            return None
        return f"/incidents/{self.incident_reference}/summary"


@dataclass(frozen=True)
class FlaggedLink:
    """A link whose report may no longer serve its action, for the dashboard."""

    link_id: uuid.UUID
    action_reference: str
    action_title: str
    report_reference: str
    reason: str


@dataclass(frozen=True)
class ActionWork:
    responses: tuple[ResponseView, ...] = ()
    follow_ups: tuple[follow_ups.FollowUpView, ...] = ()
    links: tuple[LinkView, ...] = ()
    flagged: int = 0  # how many links are flagged
    can_write: bool = False  # advocacy:write in the action's team: add, edit, remove
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        return sum(1 for f in self.follow_ups if f.overdue)


def work_of(ctx: Context, action: AdvocacyAction) -> ActionWork:
    """What was answered, what is due and which reports support `action`; NotFound for
    another team's action, PermissionDenied without advocacy:read."""
    ensure(ctx.principal, Permission.ADVOCACY_READ, action)
    responses = tuple(
        ResponseView(
            id=row.response.id,
            kind=row.response.kind,
            kind_label=label(row.response.kind),
            date=row.response.date,
            text=row.response.text,
            supporting_report=row.supporting_report,
            lock_version=row.response.lock_version,
        )
        for row in queries.responses_of(ctx.session, action.id)
    )
    links = tuple(_link_views(ctx.session, queries.links(ctx.session, action_id=action.id)))
    return ActionWork(
        responses=responses,
        follow_ups=follow_ups.of_action(ctx, action),
        links=links,
        flagged=sum(1 for link in links if link.flagged),
        can_write=can_in_team(ctx.principal, Permission.ADVOCACY_WRITE, action.team_id),
    )


def flagged_links(ctx: Context) -> list[FlaggedLink]:
    """Every flagged link of the actions of the principal's teams (where they may read
    advocacy work), by action: links are loaded with their actions and reports at once."""
    teams = follow_ups.advocacy_teams(ctx)
    if teams is not None and not teams:
        return []
    # The database picks the flagged links; only those are loaded and worded.
    unusable = queries.Unusable(USES_BY_KIND, consent.today())
    rows = queries.links(ctx.session, teams=teams, unusable=unusable)
    return [
        FlaggedLink(view.id, row.action.reference, row.action.title, view.report_reference, reason)
        for row, view in zip(rows, _link_views(ctx.session, rows), strict=True)
        if view.flagged and (reason := view.reason) is not None
    ]


def link_flags(ctx: Context, link_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """For each of these links the principal may read: why its report may no longer
    serve its action, as a refusal words it, or None when it still may."""
    teams = follow_ups.advocacy_teams(ctx)
    if not link_ids or (teams is not None and not teams):
        return {}
    rows = queries.links(ctx.session, teams=teams, link_ids=link_ids)
    return {view.id: view.reason for view in _link_views(ctx.session, rows)}


def _link_views(session: Session, rows: list[queries.LinkRow]) -> list[LinkView]:
    """Each link with its flag; every report is judged at once, for every use its
    actions need, in a fixed number of statements however many links there are."""
    reports = list({row.report.id: row.report for row in rows}.values())
    uses = {use for row in rows for use in USES_BY_KIND[row.action.kind]}
    missing = missing_consents_of(session, reports, uses)
    views = []
    for row in rows:
        needed = USES_BY_KIND[row.action.kind]
        lacking = [m for m in missing[row.report.id] if m.use in needed]
        reason = "; ".join(m.describe() for m in lacking) if lacking else None
        views.append(
            LinkView(
                id=row.link.id,
                report_reference=row.report.reference,
                incident_reference=row.incident_reference,
                note=row.link.note,
                linked_by=row.linked_by,
                linked_at=row.link.created_at,
                flagged=reason is not None,
                reason=reason,
                lock_version=row.link.lock_version,
            )
        )
    return views
