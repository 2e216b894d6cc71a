"""The auditor's pages: the log with filters, its head, "verify now", and an incident's
provenance trail. Auditors read restricted fields and events, never a secret value:
nothing here decrypts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from incidents.audit import sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.filters import WHOLE_LOG, AuditScope, EventFilter
from incidents.audit.log import record_event
from incidents.audit.signing import Signer
from incidents.context import Context
from incidents.db import FieldClass, utcnow
from incidents.errors import NotFound
from incidents.models.audit import AuditEvent
from incidents.models.report import Report
from incidents.models.vocabularies import Channel, ReportStatus, SourceKind, SourceReliability
from incidents.permissions import (
    Permission,
    Principal,
    can_in_team,
    ensure,
    visible_field_classes,
)
from incidents.read_models import read_model
from incidents.records.kinds import INCIDENT, REPORT, SOURCE
from incidents.redaction import visible_values
from incidents.repositories import audit as audit_queries
from incidents.repositories import evidence as evidence_queries
from incidents.repositories import incidents as incident_queries
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.audit_log import VerifyOutcome, b64, record_checkpoint, verify_log
from incidents.services.audit_scope import scope_of

PAGE_SIZE = 50
LARGEST_POSITION = 2**63 - 1  # a BIGINT: a larger position overflows the drivers
# An auditor's "verify now" reads every event and appends one: at most once in this long,
# whoever asked, so that repeated clicks neither load the database nor flood the log.
VERIFY_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class EventRow:
    id: int
    occurred_at: datetime
    actor: str
    action: str
    target_table: str | None
    target_id: str | None
    target_ref: str | None
    fields: tuple[str, ...]
    detail: dict[str, Any]


# Who erased a record is for the researchers of its team, as the tombstone says; the
# auditor sees that it was erased, when, and the reason code.
ERASER_WITHHELD = "(withheld: the team's researchers only)"


def _rows(
    principal: Principal | None, events: Iterable[AuditEvent], scope: AuditScope = WHOLE_LOG
) -> tuple[EventRow, ...]:
    return tuple(_row(principal, e, scope) for e in events)


def _row(principal: Principal | None, e: AuditEvent, scope: AuditScope) -> EventRow:
    actor = scope.actor_shown(e.actor, e.actor_id, e.team_id, e.action, e.target_table)
    detail = dict(e.detail) if isinstance(e.detail, dict) else {}
    if e.action == AuditAction.RECORD_ERASE.value and not (
        e.team_id is not None and can_in_team(principal, Permission.FIELDS_SECRET, e.team_id)
    ):
        actor = ERASER_WITHHELD
        detail.pop("reason", None)  # the eraser's free text, in events from before the codes
    return EventRow(
        e.id,
        e.occurred_at,
        actor,
        e.action,
        e.target_table,
        e.target_id,
        e.target_ref,
        tuple(e.fields or ()),
        detail,
    )


@dataclass(frozen=True)
class EventPage:
    events: tuple[EventRow, ...]
    next_before: int | None


def event_page(
    ctx: Context, filters: EventFilter, before: int | None = None, limit: int = PAGE_SIZE
) -> EventPage:
    """One page of the log, newest first: the events the reader's scope sees
    (services/audit_scope.py). Queued events join the tree first, if the head is free
    (the page lists the tree)."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    sequencer.integrate_queued(ctx.session)
    scope = scope_of(ctx)
    rows = audit_queries.event_page(ctx.session, scope, filters, before, limit + 1)
    shown = _rows(ctx.principal, rows[:limit], scope)
    return EventPage(shown, shown[-1].id if len(rows) > limit and shown else None)


def event_at(ctx: Context, position: int) -> EventRow:
    """The event at `position` in the log, if the log page would show it: an event the
    reader's scope does not see is NotFound, as for a position the log has not reached."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    sequencer.integrate_queued(ctx.session)
    scope = scope_of(ctx)
    in_range = 1 <= position <= LARGEST_POSITION
    event = audit_queries.visible_event(ctx.session, position, scope) if in_range else None
    if event is None:
        raise NotFound(f"there is no audit event {position}")
    return _rows(ctx.principal, [event], scope)[0]


@dataclass(frozen=True)
class Head:
    size: int
    root: str


def current_head(ctx: Context) -> Head | None:
    """The head the database recorded (unverified: the verify page says so)."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    state = audit_queries.tree_head(ctx.session)
    return None if state is None else Head(state.size, b64(state.root))


@dataclass(frozen=True)
class RecentVerification:
    """The last verification the log recorded: its checkpoint, or what failed."""

    position: int
    recorded_at: datetime
    checkpoint: str | None
    problem: str | None
    next_at: datetime


@dataclass(frozen=True)
class AuditorVerification:
    """A verification now (`outcome`, and its `checkpoint` when the log verifies), or none
    because the last one is too recent (`too_soon`)."""

    outcome: VerifyOutcome | None = None
    checkpoint: str | None = None
    too_soon: RecentVerification | None = None


def recent_verification(ctx: Context, now: datetime | None = None) -> RecentVerification | None:
    """The verification that keeps "verify now" from running again before its `next_at`;
    none once VERIFY_INTERVAL has passed since the last one."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    return _recent_verification(ctx, now or utcnow())


def _recent_verification(ctx: Context, now: datetime) -> RecentVerification | None:
    event = audit_queries.last_verification(ctx.session)
    if event is None or event.occurred_at + VERIFY_INTERVAL <= now:
        return None
    detail = event.detail if isinstance(event.detail, dict) else {}
    note, problem = detail.get("checkpoint"), detail.get("problem")
    return RecentVerification(
        position=event.id,
        recorded_at=event.occurred_at,
        checkpoint=note if isinstance(note, str) else None,
        problem=problem if isinstance(problem, str) else None,
        next_at=event.occurred_at + VERIFY_INTERVAL,
    )


def verify_for_auditor(
    ctx: Context, signer: Signer, now: datetime | None = None
) -> AuditorVerification:
    """Verify now and record the result (a signed checkpoint when the log verifies) —
    unless the log recorded a verification less than VERIFY_INTERVAL ago."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    recent = _recent_verification(ctx, now or utcnow())
    if recent is not None:
        return AuditorVerification(too_soon=recent)
    outcome = verify_log(ctx, signer.verifier)
    if not outcome.ok:
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.AUDIT_VERIFY_FAILED,
            detail={"problem": outcome.problem},
        )
        sequencer.integrate_in_transaction(ctx.session)  # what holds "verify now" back
        return AuditorVerification(outcome)
    return AuditorVerification(outcome, record_checkpoint(ctx, signer, outcome))


@dataclass(frozen=True)
class RecordedCheckpoint:
    """A signed checkpoint as the log recorded it: `note` is the text to keep."""

    position: int
    recorded_at: datetime
    size: int
    note: str


def last_checkpoint(ctx: Context) -> RecordedCheckpoint | None:
    """The newest signed checkpoint in the log (by "verify now" or the command line)."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    event = audit_queries.last_checkpoint(ctx.session)
    detail = event.detail if event is not None and isinstance(event.detail, dict) else {}
    note, size = detail.get("checkpoint"), detail.get("size")
    if event is None or not isinstance(note, str) or not isinstance(size, int):
        return None
    return RecordedCheckpoint(event.id, event.occurred_at, size, note)


# -- provenance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceTrail:
    sha256: str | None
    size_bytes: int | None
    media_type: str | None
    received_at: datetime | None
    captured_at: datetime | None
    custody: tuple[EventRow, ...]


@dataclass(frozen=True)
class SourceTrail:
    reference: str | None
    kind: SourceKind | None
    reliability: SourceReliability | None
    created_at: datetime | None
    erased: bool = False


@dataclass(frozen=True)
class ReportTrail:
    reference: str | None
    title: str | None
    status: ReportStatus | None
    received_on: date | None
    channel: Channel | None
    language: str | None
    credibility: int | None
    created_at: datetime | None
    source: SourceTrail | None
    evidence: tuple[EvidenceTrail, ...]
    erased: bool = False


@dataclass(frozen=True)
class ProvenanceTrail:
    """An incident's provenance as an auditor sees it: never a secret field."""

    reference: str
    title: str | None
    reports: tuple[ReportTrail, ...]
    changes: tuple[EventRow, ...]


def provenance_trail(ctx: Context, reference: str) -> ProvenanceTrail:
    """Reports → sources → evidence → every event about them, for `reference`."""
    incident = records.find(ctx, INCIDENT, reference, Permission.PROVENANCE_READ)
    classes = visible_field_classes(ctx.principal, incident) - {FieldClass.SECRET}
    reports: Sequence[Report] = incident_queries.reports_of_incident(ctx.session, incident)
    evidence = evidence_queries.evidence_of_reports(
        ctx.session, [r.id for r in reports], [incident.team_id]
    )
    custody = _events_by_target(ctx, [str(e.id) for e in evidence])
    erased = record_queries.erased_ids(ctx.session, REPORT.table, [r.id for r in reports])
    erased |= record_queries.erased_ids(
        ctx.session, SOURCE.table, [r.source_id for r in reports if r.source_id is not None]
    )
    trails = []
    for report in reports:
        source = report.source
        trails.append(
            read_model(
                ReportTrail,
                visible_values(report, classes),
                erased=report.id in erased,
                source=None
                if source is None
                else read_model(
                    SourceTrail, visible_values(source, classes), erased=source.id in erased
                ),
                evidence=tuple(
                    read_model(
                        EvidenceTrail,
                        visible_values(e, classes),
                        custody=custody.get(str(e.id), ()),
                    )
                    for e in evidence
                    if e.report_id == report.id
                ),
            )
        )
    about: list[uuid.UUID] = [incident.id, *(r.id for r in reports)]
    about += [r.source_id for r in reports if r.source_id is not None]
    changes = _rows(
        ctx.principal, audit_queries.events_about(ctx.session, sorted({str(i) for i in about}))
    )
    return ProvenanceTrail(
        reference=incident.reference,
        title=visible_values(incident, classes).get("title"),
        reports=tuple(trails),
        changes=changes,
    )


def _events_by_target(ctx: Context, target_ids: list[str]) -> dict[str, tuple[EventRow, ...]]:
    grouped: dict[str, list[AuditEvent]] = {}
    for event in audit_queries.events_about(ctx.session, target_ids):
        grouped.setdefault(event.target_id or "", []).append(event)
    return {target: _rows(ctx.principal, events) for target, events in grouped.items()}
