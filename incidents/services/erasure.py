"""Crypto-shredding: erasing a record deletes its data key and blind-index rows.

What remains is each row with its ciphertext cleared, a tombstone for each (reference,
date, reason code, who, and the eraser's note sealed for the team's researchers) and an
audit event that carries the code and never the note. Without the data key, no copy of
the ciphertext — in a backup, a dump, a replica — can be decrypted with any key the
installation holds.
Which kinds can be erased, and what goes with each, is the record registry's to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import Erasure
from incidents.models.vocabularies import ERASURE_REASON_LABELS, ErasureReason
from incidents.permissions import Permission, can, ensure
from incidents.records.kind import Dependent, RecordKind
from incidents.records.kinds import kind_of, kind_of_reference
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.decryption import decrypt_records
from incidents.services.evidence.storage import forget_stored_files
from incidents.vault import secret_field_names

MAX_NOTE = 1000


class AlreadyErased(ValidationError):
    """The record was erased before: nothing is left to erase. Carries its tombstone."""

    def __init__(self, tombstone: Erasure) -> None:
        when = tombstone.erased_at.strftime("%-d %B %Y, %H:%M UTC")
        super().__init__(f"{tombstone.reference} was already erased, on {when}.")
        self.tombstone = tombstone


@dataclass(frozen=True)
class ErasureOutcome:
    tombstone: Erasure
    records_shredded: int  # the record and the dependent records shredded with it


def erasable_record(ctx: Context, reference: str) -> Any:
    """The record `reference` if the principal may erase it: NotFound for an unknown or
    other team's record, PermissionDenied without case:write, AlreadyErased (with its
    tombstone) for one erased before."""
    kind = kind_of_reference(reference, erasable=True)
    record = records.find(ctx, kind, reference, Permission.CASE_WRITE)
    tombstone = record_queries.tombstone(ctx.session, reference)
    if tombstone is not None:
        raise AlreadyErased(tombstone)
    return record


def erase_record(
    ctx: Context,
    reference: str,
    code: ErasureReason | str,
    note: str = "",
    *,
    confirmation: str | None = None,
) -> ErasureOutcome:
    """Crypto-shred the record `reference` and what describes it, for the reason `code`.

    `note`, the eraser's own words, is required when the code is OTHER and optional
    otherwise; it is sealed in the tombstone for the team's researchers and never goes
    into the audit log. With `confirmation` (what the person typed to confirm, on the
    web), it must be the reference. The stored files of an erased report's evidence are
    deleted once the erasure commits.
    """
    kind = kind_of_reference(reference, erasable=True)
    if confirmation is not None and confirmation.strip().upper() != reference:
        raise ValidationError.on("confirm_reference", f"Type {reference} to confirm.")
    reason = erasure_reason(code)
    note = note.strip()
    if reason is ErasureReason.OTHER and not note:
        raise ValidationError.on("reason_note", "Say why in the note: the reason is “other”.")
    if len(note) > MAX_NOTE:
        raise ValidationError.on("reason_note", f"Keep the note to at most {MAX_NOTE} characters.")
    record = records.find(ctx, kind, reference, Permission.CASE_WRITE)  # NotFound first
    tombstone = record_queries.tombstone(ctx.session, reference)
    if tombstone is not None:
        raise AlreadyErased(tombstone)
    shredded = [record, *_dependents(ctx, kind.dependents, [record])]
    for item in shredded:
        _shred(ctx, item)
    forget_stored_files(ctx, shredded)
    # Each shredded record keeps a tombstone, the dependents' without a reference of their
    # own: none of them can be changed, linked to or given new secrets again.
    tombstones = [
        Erasure(
            record_table=item.__tablename__,
            record_id=item.id,
            reference=reference if item is record else None,
            team_id=item.team_id,
            erased_by=ctx.actor.label,
            erased_by_id=ctx.actor.user_id,
            reason_code=reason,
        )
        for item in shredded
    ]
    tombstone = tombstones[0]
    if note:  # sealed with a data key of the tombstone's own, which no erasure deletes
        ctx.vault.seal_new(tombstone, reason_note=note)
    ctx.session.add_all(tombstones)
    ctx.session.flush()
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.RECORD_ERASE,
        record,
        fields=secret_field_names(kind.model),
        detail={"reason_code": reason.value, "records_shredded": len(shredded)},
    )
    return ErasureOutcome(tombstone, len(shredded))


def erasure_reason(code: ErasureReason | str) -> ErasureReason:
    """The reason `code` names; a ValidationError on the field `reason_code` otherwise."""
    try:
        return ErasureReason(str(code).strip().lower())
    except ValueError:
        choices = ", ".join(reason.value for reason in ErasureReason)
        raise ValidationError.on("reason_code", f"Choose a reason: one of {choices}.") from None


@dataclass(frozen=True)
class Tombstone:
    """A tombstone as one reader may see it: the code and the date for anyone who may see
    the record; who erased it and their note for the researchers of its team only."""

    reference: str | None
    erased_at: datetime
    reason_code: ErasureReason
    erased_by: str | None = None
    note: str | None = None

    @property
    def reason(self) -> str:
        return ERASURE_REASON_LABELS[self.reason_code.value]


def tombstone_for(ctx: Context, reference: str) -> Tombstone | None:
    """The tombstone of `reference` if it was erased; NotFound if it is another team's."""
    tombstone = record_queries.tombstone(ctx.session, reference)
    if tombstone is None:
        return None
    ensure(ctx.principal, Permission.CASE_READ, tombstone)
    return tombstone_seen(ctx, tombstone)


def tombstone_seen(ctx: Context, tombstone: Erasure) -> Tombstone:
    """`tombstone` as the principal (who may see its record) may see it; opening its note
    is a decryption like any other, with its audit event."""
    seen = Tombstone(tombstone.reference, tombstone.erased_at, ErasureReason(tombstone.reason_code))
    if not can(ctx.principal, Permission.FIELDS_SECRET, tombstone):
        return seen
    note = None
    if tombstone.reason_note is not None:
        (opened,) = decrypt_records(ctx, [(tombstone, ["reason_note"])])
        note = opened["reason_note"]
    return Tombstone(seen.reference, seen.erased_at, seen.reason_code, tombstone.erased_by, note)


def _dependents(ctx: Context, dependents: tuple[Dependent, ...], parents: list[Any]) -> list[Any]:
    """Records that describe the erased one and go with it (a person's consents, acts and
    their perpetrator details; a source's consents; a report's evidence). An incident's
    reports are accounts by sources in their own right and are erased on their own."""
    found: list[Any] = []
    ids = [parent.id for parent in parents]
    for dependent in dependents:
        rows = list(record_queries.where_in(ctx.session, dependent.model, dependent.key, ids))
        found += rows + _dependents(ctx, dependent.then, rows)
    return found


def _shred(ctx: Context, record: Any) -> None:
    kind: RecordKind = kind_of(type(record))
    record_queries.delete_data_key(ctx.session, kind.table, record.id)
    ctx.vault.forget(record)
    index_queries.delete_entries(ctx.session, kind.table, [record.id])
    for name in secret_field_names(kind.model):
        setattr(record, name, None)
