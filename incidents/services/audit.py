"""The audit log's use-cases: verify, checkpoint, prove; the auditor's pages.

Verification reads every row (incidents/audit/verify.py); a checkpoint is only signed
for a log that verifies, and is itself recorded in the log, so later verifications
check the history against it too. Proofs are built from the recomputed tree, never
from stored hashes alone.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit import merkle
from incidents.audit.log import Actor, event_bytes, record_event
from incidents.audit.proofs import consistency_document, inclusion_document
from incidents.audit.signing import (
    Checkpoint,
    SignedByAnotherKey,
    Signer,
    Verifier,
    open_checkpoint,
    sign_checkpoint,
)
from incidents.audit.verify import (
    HeldCheckpoint,
    Progress,
    Verification,
    check_newer_head,
    head_as_checkpoint,
    recorded_head,
    stream_rows,
    verify_rows,
)
from incidents.db import FieldClass, utcnow
from incidents.errors import AuditLogBroken, NotFound, ValidationError
from incidents.models.audit import AuditEvent
from incidents.models.report import Report
from incidents.models.user import User
from incidents.permissions import Permission, ensure, visible_field_classes
from incidents.redaction import visible_values
from incidents.repositories import audit as audit_queries
from incidents.repositories import evidence as evidence_queries
from incidents.repositories import incidents as incident_queries

PAGE_SIZE = 50
# An auditor's "verify now" reads every event and appends one: at most once in this long,
# whoever asked, so that repeated clicks neither load the database nor flood the log.
VERIFY_INTERVAL = timedelta(minutes=5)


# -- verification -------------------------------------------------------------------------


@dataclass
class VerifyOutcome:
    """One verification: the recomputed tree, what it was checked against, what failed."""

    verification: Verification
    held: Checkpoint | None = None
    consistency_path: list[bytes] | None = None
    log_checkpoints: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verification.ok

    @property
    def size(self) -> int:
        return self.verification.size

    @property
    def root(self) -> bytes:
        return self.verification.root

    @property
    def problem(self) -> str | None:
        return self.verification.problem

    def summary(self) -> str:
        """One line for a log that verifies."""
        parts = [f"{self.size} events verified; root {b64(self.root)}"]
        if self.log_checkpoints:
            parts.append(f"{self.log_checkpoints} checkpoints recorded in the log match")
        if self.held is not None:
            parts.append(
                f"extends the held checkpoint of {self.held.size} events "
                f"(consistency proof of {len(self.consistency_path or [])} hashes checked)"
            )
        return "; ".join(parts)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def read_checkpoint(note: str, verifier: Verifier, origin: str) -> Checkpoint:
    """A held checkpoint of this log, once its signature checks out."""
    checkpoint = open_checkpoint(note, verifier)
    if checkpoint.origin != origin:
        raise ValidationError(
            f"the checkpoint is of the log {checkpoint.origin!r}, not of this one ({origin!r})"
        )
    return checkpoint


@dataclass
class _LogCheckpoints:
    found: list[HeldCheckpoint] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    forged: list[tuple[int, str]] = field(default_factory=list)


def _log_checkpoints(session: Session, verifier: Verifier, origin: str) -> _LogCheckpoints:
    """The checkpoints the log recorded about itself, sorted by what their signature says.

    The application records only checkpoints it has just signed. One that this key's
    signature does not verify, or that is no signed checkpoint of this log at all, was
    changed in the database: tampering. One signed only by other keys (a former key) can
    be neither trusted nor blamed: it is skipped, and the outcome says so.
    """
    result = _LogCheckpoints()
    for position, detail in audit_queries.checkpoint_events(session):
        note = detail.get("checkpoint") if isinstance(detail, dict) else None
        label = f"the checkpoint recorded as event {position}"
        try:
            if not isinstance(note, str):
                raise ValidationError("the event holds no checkpoint")
            checkpoint = read_checkpoint(note, verifier, origin)
        except SignedByAnotherKey as exc:
            result.skipped.append(f"{label} is signed by another key, not checked: {exc}")
            continue
        except ValidationError as exc:
            result.forged.append(
                (position, f"{label} is not as this installation recorded it ({exc})")
            )
            continue
        result.found.append(HeldCheckpoint(checkpoint, label))
    return result


def verify_log(
    session: Session,
    verifier: Verifier,
    origin: str,
    held_note: str | None = None,
    progress: Progress | None = None,
    keep_leaves: bool = False,
) -> VerifyOutcome:
    """Recompute the whole tree; check it against the head, the log's own checkpoints
    and the held checkpoint (`held_note`), with a consistency proof for the latter."""
    held = read_checkpoint(held_note, verifier, origin) if held_note is not None else None
    recorded = _log_checkpoints(session, verifier, origin)
    targets = [*recorded.found]
    outcome = VerifyOutcome(Verification(), held=held, skipped=recorded.skipped)
    connection = session.connection()
    targets.append(head_as_checkpoint(recorded_head(connection)))
    if held is not None:
        targets.append(HeldCheckpoint(held, f"the held checkpoint of {held.size} events"))
    result = verify_rows(
        stream_rows(connection),
        targets,
        progress,
        keep_leaves=keep_leaves or held is not None,
    )
    check_newer_head(result, recorded_head(connection))
    for position, problem in recorded.forged:
        result.fail(problem, position)
    outcome.verification = result
    outcome.log_checkpoints = sum(
        1 for matched in result.checkpoints_matched if matched in recorded.found
    )
    if result.ok and held is not None and result.leaves is not None and held.size > 0:
        path = result.leaves.consistency_proof(held.size, result.size)
        if not merkle.verify_consistency(held.size, result.size, held.root, result.root, path):
            result.fail("the log does not extend the held checkpoint (history rewritten)")
        outcome.consistency_path = path
    return outcome


def _verified(outcome: VerifyOutcome) -> VerifyOutcome:
    if not outcome.ok:
        raise AuditLogBroken(f"the audit log fails verification: {outcome.problem}")
    return outcome


def take_checkpoint(
    session: Session, signer: Signer, origin: str, actor: Actor, progress: Progress | None = None
) -> tuple[str, VerifyOutcome]:
    """Verify the log, sign its head, and record the checkpoint in the log (caller commits)."""
    outcome = _verified(verify_log(session, signer.verifier, origin, progress=progress))
    return _record_checkpoint(session, signer, origin, actor, outcome), outcome


def prove_inclusion(
    session: Session,
    signer: Signer,
    origin: str,
    position: int,
    held_note: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """An inclusion proof of event `position` in the current log, or in a held checkpoint's."""
    event = audit_queries.event_by_position(session, position)
    if event is None:
        raise NotFound(f"there is no audit event {position}")
    outcome = _verified(
        verify_log(session, signer.verifier, origin, held_note, progress, keep_leaves=True)
    )
    assert outcome.verification.leaves is not None
    if outcome.held is not None:
        size, note = outcome.held.size, held_note or ""
        if position > size:
            raise ValidationError(
                f"event {position} came after the checkpoint's {size} events; prove it against "
                "a newer checkpoint"
            )
    else:
        size = outcome.size
        note = sign_checkpoint(signer, origin, size, outcome.root)
    data = event_bytes(event)
    if merkle.leaf_hash(data) != outcome.verification.leaves[position - 1]:
        raise AuditLogBroken(f"event {position} changed while the proof was being made")
    path = outcome.verification.leaves.inclusion_proof(position - 1, size)
    return inclusion_document(data, position - 1, size, path, note)


def prove_consistency(
    session: Session,
    signer: Signer,
    origin: str,
    held_note: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """A consistency proof from a held checkpoint to a new signed checkpoint of today's log."""
    outcome = _verified(verify_log(session, signer.verifier, origin, held_note, progress))
    note = sign_checkpoint(signer, origin, outcome.size, outcome.root)
    return consistency_document(held_note, note, outcome.consistency_path or [])


# -- the auditor's pages ------------------------------------------------------------------


@dataclass(frozen=True)
class EventPage:
    events: Sequence[AuditEvent]
    next_before: int | None


def event_page(
    session: Session,
    user: User,
    filters: audit_queries.EventFilter,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> EventPage:
    """One page of the log, newest first: events of the user's teams and of no team."""
    ensure(user, Permission.AUDIT_READ)
    rows = audit_queries.event_page(session, user.team_ids, filters, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].id if more and rows else None)


@dataclass(frozen=True)
class Head:
    size: int
    root: str


def current_head(session: Session, user: User) -> Head | None:
    """The head the database recorded (unverified: the verify page says so)."""
    ensure(user, Permission.AUDIT_READ)
    state = audit_queries.tree_head(session)
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


def _recent_verification(session: Session, now: datetime) -> RecentVerification | None:
    event = audit_queries.last_verification(session)
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
    session: Session,
    user: User,
    signer: Signer,
    origin: str,
    actor: Actor,
    now: datetime | None = None,
) -> AuditorVerification:
    """Verify now and record the result (a signed checkpoint when the log verifies) —
    unless the log recorded a verification less than VERIFY_INTERVAL ago."""
    ensure(user, Permission.AUDIT_READ)
    recent = _recent_verification(session, now or utcnow())
    if recent is not None:
        return AuditorVerification(too_soon=recent)
    outcome = verify_log(session, signer.verifier, origin)
    if not outcome.ok:
        record_event(
            session,
            actor,
            audit_queries.VERIFY_FAILED_ACTION,
            detail={"problem": outcome.problem},
        )
        return AuditorVerification(outcome)
    return AuditorVerification(outcome, _record_checkpoint(session, signer, origin, actor, outcome))


def _record_checkpoint(
    session: Session, signer: Signer, origin: str, actor: Actor, outcome: VerifyOutcome
) -> str:
    """Sign the verified head and record the checkpoint as the log's next event."""
    note = sign_checkpoint(signer, origin, outcome.size, outcome.root)
    record_event(
        session,
        actor,
        audit_queries.CHECKPOINT_ACTION,
        detail={"size": outcome.size, "root": b64(outcome.root), "checkpoint": note},
    )
    return note


@dataclass
class EvidenceTrail:
    values: dict[str, Any]
    custody: list[AuditEvent]


@dataclass
class ReportTrail:
    values: dict[str, Any]
    source: dict[str, Any] | None
    evidence: list[EvidenceTrail]


@dataclass
class ProvenanceTrail:
    """An incident's provenance as an auditor sees it: never a secret field."""

    reference: str
    incident: dict[str, Any]
    reports: list[ReportTrail]
    changes: list[AuditEvent]


def provenance_trail(session: Session, user: User, reference: str) -> ProvenanceTrail:
    """Reports → sources → evidence → every event about them, for `reference`."""
    incident = incident_queries.incident_by_reference(session, reference)
    if incident is None:
        raise NotFound(f"no incident {reference}")
    ensure(user, Permission.PROVENANCE_READ, incident)  # NotFound for another team
    classes = visible_field_classes(user, incident) - {FieldClass.SECRET}
    reports: Sequence[Report] = incident_queries.reports_of_incident(session, incident)
    evidence = evidence_queries.evidence_of_reports(
        session, [r.id for r in reports], [incident.team_id]
    )
    custody = _events_by_target(session, [str(e.id) for e in evidence])
    trails = []
    for report in reports:
        source = report.source
        trails.append(
            ReportTrail(
                values=visible_values(report, classes),
                source=None if source is None else visible_values(source, classes),
                evidence=[
                    EvidenceTrail(visible_values(e, classes), custody.get(str(e.id), []))
                    for e in evidence
                    if e.report_id == report.id
                ],
            )
        )
    about: list[uuid.UUID] = [incident.id, *(r.id for r in reports)]
    about += [r.source_id for r in reports if r.source_id is not None]
    changes = list(audit_queries.events_about(session, sorted({str(i) for i in about})))
    return ProvenanceTrail(
        reference=incident.reference,
        incident=visible_values(incident, classes),
        reports=trails,
        changes=changes,
    )


def _events_by_target(session: Session, target_ids: list[str]) -> dict[str, list[AuditEvent]]:
    grouped: dict[str, list[AuditEvent]] = {}
    for event in audit_queries.events_about(session, target_ids):
        grouped.setdefault(event.target_id or "", []).append(event)
    return grouped


def log_size(session: Session) -> int:
    """Events in the tree head (for progress bars; verification counts them itself)."""
    state = audit_queries.tree_head(session)
    return 0 if state is None else state.size
