"""Incidents as a given user sees them: the list (no decryption) and one incident with
its acts, official responses, reports, evidence and the advocacy it supports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from incidents.context import Context
from incidents.db import FieldClass
from incidents.models.incident import Incident
from incidents.models.report import Report
from incidents.models.vocabularies import (
    ActEndStatus,
    ActionKind,
    ActionStatus,
    ActType,
    Attribution,
    Channel,
    DatePrecision,
    IncidentStatus,
    InvolvementDegree,
    PerpetratorKind,
    ReportStatus,
    SourceKind,
    SourceReliability,
    StateResponseKind,
    ViolationType,
)
from incidents.permissions import Permission, can, ensure, readable_teams, visible_field_classes
from incidents.read_models import read_model
from incidents.records.kinds import ACT, INCIDENT, REPORT
from incidents.redaction import visible_values
from incidents.repositories import incidents as incident_queries
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.corroboration import Corroboration, corroboration_of
from incidents.services.decryption import decrypt_records, every_secret
from incidents.services.evidence.listing import EvidenceItem, evidence_for_reports
from incidents.services.history import History, history_of
from incidents.services.incident_filters import IncidentFilters

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
    erased: bool = False  # crypto-shredded: its page shows only the tombstone


@dataclass(frozen=True)
class IncidentPage:
    incidents: tuple[IncidentRow, ...]
    next_after: str | None


@dataclass(frozen=True)
class InvolvementRow:
    """A perpetrator's part in an act; names and units for the team's researchers only."""

    id: uuid.UUID
    perpetrator_kind: PerpetratorKind | None
    degree: InvolvementDegree | None
    perpetrator_names: str | None
    units: str | None


@dataclass(frozen=True)
class ActRow:
    id: uuid.UUID | None  # for the edit links of those who may change it
    involvements: tuple[InvolvementRow, ...]
    act_type: ActType | None
    end_status: ActEndStatus | None
    attribution: Attribution | None
    notes: str | None  # secret
    start_date: date | None  # restricted, like the person's reference
    start_precision: DatePrecision | None
    person_reference: str | None
    erased: bool = False  # shredded with its person


@dataclass(frozen=True)
class StateResponseRow:
    id: uuid.UUID | None
    supporting_report_reference: str | None
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
    erased: bool = False


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
    can_edit: bool
    corroboration: Corroboration | None  # None: this reader may not see restricted fields
    history: History | None  # None: this reader may not see who did what


def list_incidents(
    ctx: Context,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    filters: IncidentFilters | None = None,
) -> IncidentPage:
    """One page of the incidents of the user's teams; no decryption on list pages."""
    ensure(ctx.principal, Permission.CASE_READ)
    teams = readable_teams(ctx.principal)
    query = (filters or IncidentFilters()).query()
    rows = incident_queries.incident_page(ctx.session, teams, after, limit + 1, query)
    more = len(rows) > limit
    erased = record_queries.erased_ids(ctx.session, INCIDENT.table, [i.id for i in rows[:limit]])
    shown = tuple(_row(incident, incident.id in erased) for incident in rows[:limit])
    return IncidentPage(shown, shown[-1].reference if more and shown else None)


def _row(incident: Incident, erased: bool) -> IncidentRow:
    return read_model(
        IncidentRow,
        visible_values(incident, PUBLIC),
        start_month_year=incident.start_month_year,
        violation_types=tuple(incident.violation_types),
        erased=erased,
    )


def view_incident(ctx: Context, reference: str) -> IncidentView:
    """The incident `reference` as the user may see it; decrypts (and audits) only if allowed."""
    incident: Incident = records.find(ctx, INCIDENT, reference)
    classes = visible_field_classes(ctx.principal, incident)
    unsealed = classes - {FieldClass.SECRET}
    restricted = FieldClass.RESTRICTED in classes
    may_write = can(ctx.principal, Permission.CASE_WRITE, incident)
    acts = incident_queries.acts_of_incident(ctx.session, incident)
    erased_acts = record_queries.erased_ids(ctx.session, ACT.table, [act.id for act in acts])
    opened = _open_secrets(ctx, incident, classes, acts, erased_acts)
    return read_model(
        IncidentView,
        visible_values(incident, classes, opened.get(_key(incident))),
        start_month_year=incident.start_month_year,
        violation_types=tuple(incident.violation_types),
        shows_restricted=restricted,
        shows_secrets=FieldClass.SECRET in classes,
        acts=tuple(
            _act_row(act, classes, may_write, act.id in erased_acts, opened) for act in acts
        ),
        state_responses=_state_responses(ctx, incident, unsealed, may_write),
        reports=_reports(ctx, incident, unsealed) if restricted else (),
        actions=tuple(
            read_model(ActionRow, visible_values(action, unsealed))
            for action in incident_queries.actions_supported_by(ctx.session, incident)
        ),
        can_add_evidence=restricted and may_write,
        can_erase=may_write,
        can_edit=may_write,
        corroboration=corroboration_of(ctx, incident) if restricted else None,
        history=history_of(ctx, INCIDENT, incident),
    )


Opened = dict[tuple[str, Any], dict[str, str | None]]  # secrets by (table, record id)


def _key(record: Any) -> tuple[str, Any]:
    return record.__tablename__, record.id


def _act_classes(classes: frozenset[FieldClass], erased: bool) -> frozenset[FieldClass]:
    """Nothing secret of an act erased with its person: its key is gone."""
    return classes if not erased else classes - {FieldClass.SECRET}


def _open_secrets(
    ctx: Context,
    incident: Incident,
    classes: frozenset[FieldClass],
    acts: Any,
    erased_acts: set[Any],
) -> Opened:
    """The incident's secrets, its acts' notes and their perpetrators' names and units,
    for those who may read secret fields: opened together (one query for their keys,
    their audit events — one per record, as before — appended in one go), so that the
    page's statements do not grow with its acts."""
    wanted: list[Any] = []
    if FieldClass.SECRET in classes:
        wanted.append(incident)
    for act in acts:
        if FieldClass.SECRET in _act_classes(classes, act.id in erased_acts):
            wanted.append(act)
            if FieldClass.RESTRICTED in classes:
                wanted.extend(act.involvements)
    if not wanted:
        return {}
    secrets = every_secret(wanted)
    return {
        _key(record): plain
        for (record, _names), plain in zip(secrets, decrypt_records(ctx, secrets), strict=True)
    }


def _act_row(
    act: Any, classes: frozenset[FieldClass], may_write: bool, erased: bool, secrets: Opened
) -> ActRow:
    """An act as the reader may see it: its notes, its perpetrators' names and units
    (opened by _open_secrets) only for those who may read secret fields; nothing of an
    act erased with its person."""
    restricted = FieldClass.RESTRICTED in classes
    opened = _act_classes(classes, erased)
    return read_model(
        ActRow,
        visible_values(act, opened, secrets.get(_key(act), {})),
        id=act.id if may_write and not erased else None,
        involvements=_involvements(act, opened, secrets) if restricted else (),
        person_reference=act.person.reference if restricted else None,
        erased=erased,
    )


def _state_responses(
    ctx: Context, incident: Incident, classes: frozenset[FieldClass], may_write: bool
) -> tuple[StateResponseRow, ...]:
    responses = incident.state_responses
    supporting: dict[uuid.UUID, str] = {}
    if FieldClass.RESTRICTED in classes:
        ids = {r.supporting_report_id for r in responses if r.supporting_report_id}
        supporting = {r.id: r.reference for r in record_queries.by_ids(ctx.session, Report, ids)}
    return tuple(
        read_model(
            StateResponseRow,
            visible_values(r, classes),
            id=r.id if may_write else None,
            supporting_report_reference=supporting.get(r.supporting_report_id),  # type: ignore[arg-type]
        )
        for r in responses
    )


def _involvements(
    act: Any, classes: frozenset[FieldClass], secrets: Opened
) -> tuple[InvolvementRow, ...]:
    """An act's perpetrators; their names and units (opened by _open_secrets) only for
    those who may read secret fields."""
    return tuple(
        read_model(
            InvolvementRow,
            visible_values(involvement, classes, secrets.get(_key(involvement), {})),
            id=involvement.id,
        )
        for involvement in act.involvements
    )


def _reports(
    ctx: Context, incident: Incident, classes: frozenset[FieldClass]
) -> tuple[ReportRow, ...]:
    reports = incident_queries.reports_of_incident(ctx.session, incident)
    evidence = evidence_for_reports(ctx, reports)
    erased = record_queries.erased_ids(ctx.session, REPORT.table, [r.id for r in reports])
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
                erased=report.id in erased,
                **source,
            )
        )
    return tuple(rows)
