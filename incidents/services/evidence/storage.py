"""Stored evidence files that go with their records."""

from __future__ import annotations

from collections.abc import Iterable

from incidents.context import Context
from incidents.models.evidence import Evidence
from incidents.storage import lifecycle


def forget_stored_files(ctx: Context, records: Iterable[object]) -> int:
    """For erasure: delete the stored files of the evidence among `records` once the
    transaction commits, and clear their storage keys now. Returns how many."""
    count = 0
    for record in records:
        if isinstance(record, Evidence) and record.storage_key is not None:
            lifecycle.delete_after_commit(ctx.session, ctx.store, record.storage_key)
            record.storage_key = None
            count += 1
    return count
