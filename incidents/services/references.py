"""References of new records: the next one of their prefix (INC-2017-0007, PER-0042), or
the one an imported record already had, kept when it is free."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from incidents.context import Context
from incidents.errors import ValidationError
from incidents.records.kind import RecordKind
from incidents.repositories import records as record_queries
from incidents.services import record_batch


def assign(ctx: Context, kind: RecordKind, record: Any) -> None:
    """Give `record` the next reference of its prefix, unless it has one already."""
    if kind.prefix is None or getattr(record, "reference", None):
        return
    prefix = kind.prefix
    if kind.reference_year is not None:
        when: date | None = getattr(record, kind.reference_year)
        prefix = f"{prefix}-{(when or datetime.now(UTC).date()).year}"
    batch = record_batch.current(ctx.session)
    if batch is not None and batch.deferring:
        record.reference = batch.next_reference(prefix)  # from a block the batch took
    else:
        record.reference = record_queries.next_reference(ctx.session, prefix)


def kept(ctx: Context, kind: RecordKind, reference: str) -> str:
    """`reference` for a new record of `kind`, if it has the kind's shape and no record
    has it (or had it: an erased record keeps its reference in its tombstone). The
    counter of its prefix moves past it, so no later record is given it again."""
    pattern = kind.reference_pattern
    if pattern is None:
        raise ValidationError.on("reference", f"A {kind.label} has no reference; leave it out.")
    wanted = reference.strip().upper()
    if not re.fullmatch(pattern, wanted):
        example = f"{kind.prefix}-2017-0001" if kind.reference_year else f"{kind.prefix}-0001"
        raise ValidationError.on(
            "reference", f"Use a reference like {example}, or leave it empty for a new one."
        )
    if _taken(ctx, kind, wanted):
        raise ValidationError.on(
            "reference",
            f"{wanted} is the reference of another {kind.label} here; leave it empty to "
            "give this one a new reference.",
        )
    _reserve(ctx, wanted)
    return wanted


def _taken(ctx: Context, kind: RecordKind, wanted: str) -> bool:
    batch = record_batch.current(ctx.session)
    if batch is None:
        return record_queries.reference_taken(ctx.session, kind.model, wanted)
    if batch.added(kind.model, wanted) is not None:  # a new record not yet flushed
        return True
    if batch.may_have_tombstone(None):
        return record_queries.reference_taken(ctx.session, kind.model, wanted)
    prefix, _, number = wanted.rpartition("-")
    if batch.had_none(kind.model):
        # Of a table that was empty, only the batch's own records have references. (One
        # the batch was given by its counter meanwhile is refused by the database instead.)
        return batch.kept_reference(prefix, int(number))
    return record_queries.by_reference(ctx.session, kind.model, wanted) is not None


def _reserve(ctx: Context, wanted: str) -> None:
    """Move the counter past `wanted`; a batch remembers how far each counter of its
    transaction stands, and moves it only when it must (an export's references come in
    order, so once a row)."""
    batch = record_batch.current(ctx.session)
    if batch is None:
        record_queries.reserve_reference(ctx.session, wanted)
        return
    prefix, _, number = wanted.rpartition("-")
    batch.keep_reference(prefix, int(number))
    known = batch.counters.get(prefix)
    if known is None and batch.deferring:
        ctx.session.flush()  # a counter made in a savepoint of its own, with nothing else
    if known is None or int(number) > known:
        record_queries.reserve_reference(ctx.session, wanted, known=known is not None)
        batch.counters[prefix] = int(number) if known is None else max(known, int(number))
