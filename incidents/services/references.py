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


def assign(ctx: Context, kind: RecordKind, record: Any) -> None:
    """Give `record` the next reference of its prefix, unless it has one already."""
    if kind.prefix is None or getattr(record, "reference", None):
        return
    prefix = kind.prefix
    if kind.reference_year is not None:
        when: date | None = getattr(record, kind.reference_year)
        prefix = f"{prefix}-{(when or datetime.now(UTC).date()).year}"
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
    if record_queries.reference_taken(ctx.session, kind.model, wanted):
        raise ValidationError.on(
            "reference",
            f"{wanted} is the reference of another {kind.label} here; leave it empty to "
            "give this one a new reference.",
        )
    record_queries.reserve_reference(ctx.session, wanted)
    return wanted
