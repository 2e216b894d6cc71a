"""The erasure review queue: what a withdrawn consent to keep a record asks of its team.

Withdrawing "keep in the database" from a person or a source does not erase anything by
itself — a researcher may know of a legal obligation, or of a mistake — but it puts the
record (a person; a source and each of its reports) in the queue of its team's
researchers. Each item is decided once: erased (through the erasure service, with the
code `consent_withdrawn`) or kept, with a justification. Both are audited, the decider's
note sealed for the team's researchers and never in the log.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import NotFound, ValidationError
from incidents.models.consent import Consent
from incidents.models.erasure_review import ErasureReview, ReviewState
from incidents.models.person import Person
from incidents.models.vocabularies import ErasureReason
from incidents.permissions import Permission, can, ensure, readable_teams
from incidents.records.kinds import kind_named, kind_of_reference
from incidents.repositories import consents as consent_queries
from incidents.repositories import erasure_reviews as queries
from incidents.repositories import records as record_queries
from incidents.services import erasure, records
from incidents.services.decryption import decrypt_records

ERASE, KEEP = "erase", "keep"
DECISIONS = (ERASE, KEEP)
MAX_NOTE = erasure.MAX_NOTE
KIND_OF_TABLE = {"persons": "person", "sources": "source", "reports": "report"}


@dataclass(frozen=True)
class ReviewView:
    """One item of the queue as a researcher of its team sees it; `note` only once
    opened (the decision page)."""

    id: uuid.UUID
    reference: str
    kind: str
    kind_label: str
    raised_at: datetime
    raised_by: str
    state: ReviewState
    decided_at: datetime | None
    decided_by: str | None
    has_note: bool
    note: str | None
    erased: bool  # the record has a tombstone (erased by this review, or otherwise)
    lock_version: int

    @property
    def pending(self) -> bool:
        return self.state is ReviewState.PENDING


@dataclass(frozen=True)
class Queue:
    pending: tuple[ReviewView, ...]
    decided: tuple[ReviewView, ...]  # the latest decisions, newest first


def ensure_access(ctx: Context) -> None:
    """The queue is for those who may change case records (researchers)."""
    ensure(ctx.principal, Permission.CASE_WRITE)


def queue_of(ctx: Context) -> Queue:
    """The pending reviews of the principal's teams, oldest first, and the latest
    decided ones; nothing is decrypted."""
    ensure_access(ctx)
    teams = readable_teams(ctx.principal)
    pending = queries.queue(ctx.session, teams, ReviewState.PENDING)
    decided = queries.queue(ctx.session, teams, None)
    return Queue(_views(ctx, pending), _views(ctx, decided))


def pending_for(ctx: Context, reference: str) -> tuple[ReviewView, ...]:
    """The pending reviews raised by withdrawals of the consent of the person or source
    `reference`, for its page; nothing for a reader who may not decide them."""
    owner = records.find(ctx, kind_of_reference(reference), reference, Permission.CASE_READ)
    if not can(ctx.principal, Permission.CASE_WRITE, owner):
        return ()
    column = "person_id" if isinstance(owner, Person) else "source_id"
    return _views(ctx, queries.pending_from_owner(ctx.session, column, owner.id))


def for_decision(ctx: Context, review_id: uuid.UUID) -> ReviewView:
    """One review, for a researcher of its team (NotFound for another team's, whatever
    the role), its note opened — one `secret.decrypt` event — once it has one."""
    review = _review(ctx, review_id)
    note = None
    if review.decision_note is not None:
        (opened,) = decrypt_records(ctx, [(review, ["decision_note"])], {"purpose": "review"})
        note = opened["decision_note"]
    return _views(ctx, [review], {review.id: note})[0]


def raise_for(
    ctx: Context, consent: Consent, owner: Any, reports: Sequence[consent_queries.ReportRow]
) -> tuple[ReviewView, ...]:
    """Put the owner of the withdrawn consent to keep (and a source's reports) in its
    team's queue: each record not erased and not already pending, with one audit event on
    the owner naming them. Returns the reviews pending for these records, new or not."""
    wanted: dict[str, dict[uuid.UUID, str]] = {owner.__tablename__: {owner.id: owner.reference}}
    if not isinstance(owner, Person):  # a source's reports are its accounts
        wanted["reports"] = {r.id: r.reference for r in reports if not r.erased}
    pending: list[ErasureReview] = []
    fresh: list[ErasureReview] = []
    for table, references in wanted.items():
        found = queries.pending_rows(ctx.session, table, list(references))
        pending += found
        skip = {r.record_id for r in found} | record_queries.erased_ids(
            ctx.session, table, list(references)
        )
        fresh += [
            ErasureReview(
                record_table=table,
                record_id=record_id,
                reference=reference,
                kind=KIND_OF_TABLE[table],
                consent_id=consent.id,
                team_id=owner.team_id,
                raised_by=ctx.actor.label,
                raised_by_id=ctx.actor.user_id,
            )
            for record_id, reference in references.items()
            if record_id not in skip
        ]
    if fresh:
        ctx.session.add_all(fresh)
        ctx.session.flush()
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.ERASURE_REVIEW_RAISE,
            owner,
            detail={"consent": str(consent.id), "records": [r.reference for r in fresh]},
        )
    every = sorted(
        pending + fresh, key=lambda r: (r.kind != KIND_OF_TABLE[owner.__tablename__], r.reference)
    )
    return _views(ctx, every)


def decide(
    ctx: Context, review_id: uuid.UUID, decision: str | None, note: str | None, lock_version: int
) -> ReviewView:
    """Erase the record of a pending review, or keep it with a justification (`note`),
    as a researcher of its team; edited from `lock_version` (refused if it changed)."""
    review = _review(ctx, review_id, lock=True)
    if review.state != ReviewState.PENDING or review.lock_version != lock_version:
        raise ValidationError(
            f"The review of {review.reference} was decided or changed since you opened it."
        )
    if decision not in DECISIONS:
        raise ValidationError.on("decision", "Choose: erase the record, or keep it.")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationError.on("note", f"Keep the note to at most {MAX_NOTE} characters.")
    if decision == KEEP and not text:
        raise ValidationError.on(
            "note", "Say why the record is kept although its consent was withdrawn."
        )
    if decision == ERASE:
        # Erased meanwhile, by hand or with its source: the question is answered all the same.
        with contextlib.suppress(erasure.AlreadyErased):
            erasure.erase_record(ctx, review.reference, ErasureReason.CONSENT_WITHDRAWN, note=text)
    review.state = ReviewState.ERASED if decision == ERASE else ReviewState.KEPT
    review.decided_at = utcnow()
    review.decided_by = ctx.actor.label
    review.decided_by_id = ctx.actor.user_id
    if text:
        ctx.vault.seal_new(review, decision_note=text)  # decided once: its first key
    ctx.session.flush()
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.ERASURE_REVIEW_DECIDE,
        review,
        fields=["state", *(["decision_note"] if text else [])],
        detail={
            "decision": decision,
            "kind": review.kind,
            "consent": str(review.consent_id),
            "reason_code": ErasureReason.CONSENT_WITHDRAWN.value if decision == ERASE else None,
        },
    )
    return _views(ctx, [review], {review.id: text or None})[0]


# -- helpers -----------------------------------------------------------------------------


def _review(ctx: Context, review_id: uuid.UUID, *, lock: bool = False) -> ErasureReview:
    if lock:
        review = queries.locked(ctx.session, review_id)
    else:
        review = record_queries.by_id(ctx.session, ErasureReview, review_id)
    if review is None:
        raise NotFound("no such review")
    ensure(ctx.principal, Permission.CASE_WRITE, review)  # another team's: NotFound first
    found: ErasureReview = review
    return found


def _views(
    ctx: Context, reviews: Sequence[ErasureReview], notes: dict[uuid.UUID, str | None] | None = None
) -> tuple[ReviewView, ...]:
    erased: set[uuid.UUID] = set()
    for table in {r.record_table for r in reviews}:
        ids = [r.record_id for r in reviews if r.record_table == table]
        erased |= record_queries.erased_ids(ctx.session, table, ids)
    opened = notes or {}
    return tuple(
        ReviewView(
            id=r.id,
            reference=r.reference,
            kind=r.kind,
            kind_label=kind_named(r.kind).label,
            raised_at=r.raised_at,
            raised_by=r.raised_by,
            state=ReviewState(r.state),
            decided_at=r.decided_at,
            decided_by=r.decided_by,
            has_note=r.decision_note is not None,
            note=opened.get(r.id),
            erased=r.record_id in erased,
            lock_version=r.lock_version,
        )
        for r in reviews
    )
