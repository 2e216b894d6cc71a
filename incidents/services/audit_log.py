"""The audit log's operations: verify, checkpoint, prove (audit:read, or the operator).

Verification reads every row (incidents/audit/verify.py); a checkpoint is only signed
for a log that verifies, and is itself recorded in the log, so later verifications
check the history against it too. Proofs are built from the recomputed tree, never
from stored hashes alone. Each first integrates the queued leaves it can (in short
transactions of their own, incidents/audit/sequencer.py) and covers the tree's leaves;
the outcome counts the events still queued. The auditor's pages are
incidents/services/auditor.py.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit import merkle, sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.log import event_bytes, record_event
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
from incidents.context import Context
from incidents.errors import AuditLogBroken, NotFound, ValidationError
from incidents.permissions import Permission, ensure
from incidents.repositories import audit as audit_queries

# -- verification -------------------------------------------------------------------------


@dataclass
class VerifyOutcome:
    """One verification: the recomputed tree, what it was checked against, what failed."""

    verification: Verification
    held: Checkpoint | None = None
    consistency_path: list[bytes] | None = None
    log_checkpoints: int = 0
    skipped: list[str] = field(default_factory=list)
    queued: int = 0  # events committed but not yet in the tree when the pass ended

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
        if self.queued:
            parts.append(f"{self.queued} events queued, not yet in the tree")
        return "; ".join(parts)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def read_checkpoint(note: str, verifier: Verifier, origin: str) -> Checkpoint:
    """A held checkpoint of this log, once its signature checks out."""
    checkpoint = open_checkpoint(note, verifier)
    if checkpoint.origin != origin:
        raise ValidationError(
            f"The checkpoint is of the log {checkpoint.origin!r}, not of this one ({origin!r})."
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
    ctx: Context,
    verifier: Verifier,
    held_note: str | None = None,
    progress: Progress | None = None,
    keep_leaves: bool = False,
) -> VerifyOutcome:
    """Recompute the whole tree; check it against the head, the log's own checkpoints
    and the held checkpoint (`held_note`), with a consistency proof for the latter."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    origin = ctx.settings.audit_log_origin
    held = read_checkpoint(held_note, verifier, origin) if held_note is not None else None
    sequencer.integrate_queued(ctx.session)  # what is queued joins the tree first, if it can
    recorded = _log_checkpoints(ctx.session, verifier, origin)
    targets = [*recorded.found]
    outcome = VerifyOutcome(Verification(), held=held, skipped=recorded.skipped)
    connection = ctx.session.connection()
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
    outcome.queued = sequencer.queued_count(connection)
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
    ctx: Context, signer: Signer, progress: Progress | None = None
) -> tuple[str, VerifyOutcome]:
    """Verify the log, sign its head, and record the checkpoint in the log."""
    outcome = _verified(verify_log(ctx, signer.verifier, progress=progress))
    return record_checkpoint(ctx, signer, outcome), outcome


def prove_inclusion(
    ctx: Context,
    signer: Signer,
    position: int,
    held_note: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """An inclusion proof of event `position` in the current log, or in a held checkpoint's."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    outcome = _verified(verify_log(ctx, signer.verifier, held_note, progress, keep_leaves=True))
    event = audit_queries.event_by_position(ctx.session, position)
    if event is None or position > outcome.size:
        raise NotFound(f"there is no audit event {position}")
    assert outcome.verification.leaves is not None
    if outcome.held is not None:
        size, note = outcome.held.size, held_note or ""
        if position > size:
            raise ValidationError(
                f"Event {position} came after the checkpoint's {size} events: prove it against "
                "a newer checkpoint."
            )
    else:
        size = outcome.size
        note = sign_checkpoint(signer, ctx.settings.audit_log_origin, size, outcome.root)
    data = event_bytes(event)
    if merkle.leaf_hash(data) != outcome.verification.leaves[position - 1]:
        raise AuditLogBroken(f"event {position} changed while the proof was being made")
    path = outcome.verification.leaves.inclusion_proof(position - 1, size)
    return inclusion_document(data, position - 1, size, path, note)


def prove_consistency(
    ctx: Context, signer: Signer, held_note: str, progress: Progress | None = None
) -> dict[str, Any]:
    """A consistency proof from a held checkpoint to a new signed checkpoint of today's log."""
    outcome = _verified(verify_log(ctx, signer.verifier, held_note, progress))
    note = sign_checkpoint(signer, ctx.settings.audit_log_origin, outcome.size, outcome.root)
    return consistency_document(held_note, note, outcome.consistency_path or [])


def record_checkpoint(ctx: Context, signer: Signer, outcome: VerifyOutcome) -> str:
    """Sign the verified head and record the checkpoint as the log's next event."""
    ensure(ctx.principal, Permission.AUDIT_READ)
    note = sign_checkpoint(signer, ctx.settings.audit_log_origin, outcome.size, outcome.root)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.AUDIT_CHECKPOINT,
        detail={"size": outcome.size, "root": b64(outcome.root), "checkpoint": note},
    )
    sequencer.integrate_in_transaction(ctx.session)  # read back as a leaf, as it commits
    return note


def log_size(ctx: Context) -> int:
    """Events in the tree head (for progress bars; verification counts them itself)."""
    state = audit_queries.tree_head(ctx.session)
    return 0 if state is None else state.size
