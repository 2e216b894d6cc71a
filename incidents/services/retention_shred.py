"""Shredding one secret field of a record, for a retention rule that names a field.

The record keeps its data key (its other secret fields still need it), so the field's
ciphertext itself must go: it is overwritten with NULL in the row, and the field's
blind-index entries go with it (the record's other indexed fields are indexed again).
What this cannot reach: a backup made before still holds the old ciphertext, and the
record's data key in that backup opens it; only erasing the whole record (its data key)
and retiring the master key end that (README, "Retention that shreds by itself").
"""

from __future__ import annotations

import uuid
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.records.kind import RecordKind
from incidents.repositories import retention as retention_queries
from incidents.services.blind_indexing import index_record


def shred_field(
    ctx: Context, kind: RecordKind, record: Any, field: str, rule_id: uuid.UUID
) -> None:
    """Clear `field` of `record` for the rule `rule_id`, with one audit event."""
    indexed = [f.column for f in kind.indexed]
    remaining: dict[str, str | None] = {}
    if field in indexed:
        others = [name for name in indexed if name != field]
        remaining = ctx.vault.unseal(record, *others) if others else {}
    retention_queries.clear_field(ctx.session, record, field)
    if field in indexed:
        index_record(ctx, record, {**remaining, field: None})
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.RETENTION_FIELD_SHRED,
        record,
        fields=[field],
        detail={"rule": str(rule_id), "reason_code": "retention"},
    )
