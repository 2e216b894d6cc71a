"""Incidents as a given user sees them: the list (no decryption) and one incident with
its acts, official responses, reports, evidence and the advocacy it supports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass
from incidents.models.incident import Incident
from incidents.models.vocabularies import (
    ActEndStatus,
    ActionKind,
    ActionStatus,
    ActType,
    Attribution,
    Channel,
    DatePrecision,
    IncidentStatus,
    ReportStatus,
    SourceKind,
    SourceReliability,
    StateResponseKind,
    ViolationType,
)
from incidents.permissions import Permission, can, ensure, readable_teams, visible_field_classes
from incidents.read_models import read_model
from incidents.records.kinds import INCIDENT
from incidents.redaction import visible_values
from incidents.repositories import incidents as incident_queries
from incidents.services import records
from incidents.services.evidence.listing import EvidenceItem, evidence_for_reports
from incidents.vault import secret_field_names

PAGE_SIZE = 50
PUBLIC = frozenset({FieldClass.PUBLIC})


@dataclass(frozen=True)
class IncidentRow:
    """An incident on the list: public fields only, for every reader."""

    reference: str
    title: str
    status: IncidentStatus
    country: str | None
    region: str | None
    start_month_year: str | None
    violation_types: tuple[ViolationType, ...]
    estimated_victims: int | None


@dataclass(frozen=True)
class IncidentPage:
    incidents: tuple[IncidentRow, ...]
    next_after: str | None


@dataclass(frozen=True)
class ActRow:
    act_type: ActType | None
    end_status: ActEndStatus | None
    attribution: Attribution | None
    start_date: date | None  # restricted, like the person's reference
    start_precision: DatePrecision | None
    person_reference: str | None


@dataclass(frozen=True)
class StateResponseRow:
    kind: StateResponseKind | None
    date: date | None
    date_precision: DatePrecision | None
    authority: str | None
    description: str | None


@dataclass(frozen=True)
class ReportRow:
    reference: str | None
    title: str | None
    received_on: date | None
    channel: Channel | None
    language: str | None
    credibility: int | None
    status: ReportStatus | None
    source_kind: SourceKind | None
    source_reliability: SourceReliability | None
    evidence: tuple[EvidenceItem, ...]


@dataclass(frozen=True)
class ActionRow:
    reference: str | None
    kind: ActionKind | None
    status: ActionStatus | None
    title: str | None
    description: str | None
    start_date: date | None
    end_date: date | None
    target: str | None
    places: str | None
    signatures: int | None
    participants: int | None


@dataclass(frozen=True)
class IncidentView:
    """An incident as one user may see it: a field of a class they may not read is None."""

    reference: str
    title: str | None
    summary: str | None
    status: IncidentStatus | None
    country: str | None
    region: str | None
    start_month_year: str | None
    estimated_victims: int | None
    violation_types: tuple[ViolationType, ...]
    # restricted
    start_date: date | None
    start_precision: DatePrecision | None
    end_date: date | None
    end_precision: DatePrecision | None
    created_at: datetime | None
    updated_at: datetime | None
    lock_version: int | None
    # secret
    narrative: str | None
    place_detail: str | None
    shows_restricted: bool
    shows_secrets: bool
    acts: tuple[ActRow, ...]
    state_responses: tuple[StateResponseRow, ...]
    reports: tuple[ReportRow, ...]
    actions: tuple[ActionRow, ...]
    can_add_evidence: bool
    can_erase: bool


def list_incidents(ctx: Context, after: str | None = None, limit: int = PAGE_SIZE) -> IncidentPage:
    """One page of the incidents of the user's teams; no decryption on list pages."""
    ensure(ctx.principal, Permission.CASE_READ)
    teams = readable_teams(ctx.principal)
    rows = incident_queries.incident_page(ctx.session, teams, after, limit + 1)
    more = len(rows) > limit
    shown = tuple(_row(incident) for incident in rows[:limit])
    return IncidentPage(shown, shown[-1].reference if more and shown else None)


def _row(incident: Incident) -> IncidentRow:
    return read_model(
        IncidentRow,
        visible_values(incident, PUBLIC),
        start_month_year=incident.start_month_year,
        violation_types=tuple(incident.violation_types),
    )


def view_incident(ctx: Context, reference: str) -> IncidentView:
    """The incident `reference` as the user may see it; decrypts (and audits) only if allowed."""
    incident: Incident = records.find(ctx, INCIDENT, reference)
    classes = visible_field_classes(ctx.principal, incident)
    decrypted = None
    if FieldClass.SECRET in classes:
        names = secret_field_names(Incident)
        decrypted = ctx.vault.unseal(incident, *names)
        record_event(ctx.session, ctx.actor, AuditAction.SECRET_DECRYPT, incident, fields=names)
    unsealed = classes - {FieldClass.SECRET}
    restricted = FieldClass.RESTRICTED in classes
    may_write = can(ctx.principal, Permission.CASE_WRITE, incident)
    return read_model(
        IncidentView,
        visible_values(incident, classes, decrypted),
        start_month_year=incident.start_month_year,
        violation_types=tuple(incident.violation_types),
        shows_restricted=restricted,
        shows_secrets=FieldClass.SECRET in classes,
        acts=tuple(
            read_model(
                ActRow,
                visible_values(act, unsealed),
                person_reference=act.person.reference if restricted else None,
            )
            for act in incident_queries.acts_of_incident(ctx.session, incident)
        ),
        state_responses=tuple(
            read_model(StateResponseRow, visible_values(r, unsealed))
            for r in incident.state_responses
        ),
        reports=_reports(ctx, incident, unsealed) if restricted else (),
        actions=tuple(
            read_model(ActionRow, visible_values(action, unsealed))
            for action in incident_queries.actions_supported_by(ctx.session, incident)
        ),
        can_add_evidence=restricted and may_write,
        can_erase=may_write,
    )


def _reports(
    ctx: Context, incident: Incident, classes: frozenset[FieldClass]
) -> tuple[ReportRow, ...]:
    reports = incident_queries.reports_of_incident(ctx.session, incident)
    evidence = evidence_for_reports(ctx, reports)
    rows = []
    for report in reports:
        source: dict[str, Any] = {}
        if report.source is not None:
            source = {
                "source_kind": report.source.kind,
                "source_reliability": report.source.reliability,
            }
        rows.append(
            read_model(
                ReportRow,
                visible_values(report, classes),
                evidence=tuple(evidence.get(report.id, [])),
                **source,
            )
        )
    return tuple(rows)
