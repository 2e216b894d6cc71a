"""Keeping blind-index entries in step with the secret fields they stand for.

A record of an indexed kind (incidents/records/kinds.py) gets its entries when it is
created, new ones when an indexed field changes, and none once erased. `reindex_all`
rebuilds every entry under the primary master key, after a rotation or a new width.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.models.blind_index import BlindIndexEntry
from incidents.permissions import Permission, ensure
from incidents.records.indexing import index_terms
from incidents.records.kind import RecordKind
from incidents.records.kinds import indexed_kinds, kind_of
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import records as record_queries
from incidents.vault import FieldVault

REINDEX_BATCH = 500


@dataclass(frozen=True)
class ReindexOutcome:
    records: dict[str, int]  # table -> records reindexed
    entries: int
    master_key_id: str

    @property
    def total(self) -> int:
        return sum(self.records.values())


def index_record(ctx: Context, record: Any, values: Mapping[str, str | None]) -> int:
    """Replace the record's entries with those of its plaintext `values`.

    Every indexed field of the kind must be given (None when empty), so that a field left
    out cannot silently lose its entries.
    """
    kind = kind_of(type(record))
    missing = [f.column for f in kind.indexed if f.column not in values]
    if missing:
        raise ValueError(f"index_record needs every indexed field; missing {missing}")
    return _index(ctx, kind, record, values)


def index_new_record(ctx: Context, record: Any, values: Mapping[str, str | None]) -> None:
    """`index_record` for a record being added in a batch of new records (an import): it
    has no entries to replace, and its entries are flushed with the batch's."""
    kind = kind_of(type(record))
    index_queries.add_entries(ctx.session, _entries(ctx, kind, record, values))


def _index(ctx: Context, kind: RecordKind, record: Any, values: Mapping[str, str | None]) -> int:
    index_queries.delete_entries(ctx.session, kind.table, [record.id])
    entries = _entries(ctx, kind, record, values)
    index_queries.add_entries(ctx.session, entries)
    ctx.session.flush()
    return len(entries)


def _entries(
    ctx: Context, kind: RecordKind, record: Any, values: Mapping[str, str | None]
) -> list[BlindIndexEntry]:
    entries = []
    for index_name, term in index_terms(kind.indexed, values):
        key_id, value = ctx.indexer.entry(index_name, term)
        entries.append(
            BlindIndexEntry(
                index_name=index_name,
                record_table=kind.table,
                record_id=record.id,
                team_id=record.team_id,
                master_key_id=key_id,
                value=value,
            )
        )
    return entries


def count_indexed_records(ctx: Context) -> int:
    """How many records reindex_all goes through (for a progress bar)."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    return sum(record_queries.count_records(ctx.session, k.model) for k in indexed_kinds())


def reindex_all(
    ctx: Context,
    batch_done: Callable[[int], None] | None = None,
    *,
    batch_size: int = REINDEX_BATCH,
) -> ReindexOutcome:
    """Rebuild every entry of every indexed record under the primary key, in batches.

    After each batch is flushed (with one audit event naming how many records it
    decrypted), `batch_done(records in the batch)` is called: the command line commits
    there, so an interrupted run keeps its finished batches and a new run starts again
    safely (it rebuilds everything; the result is the same). Erased records lose any
    entries left and gain none.
    """
    ensure(ctx.principal, Permission.KEYS_MANAGE)  # it decrypts every indexed record
    counts: dict[str, int] = {}
    entries = 0
    primary = ctx.keys.primary().key_id
    for kind in indexed_kinds():
        names = [f.column for f in kind.indexed]
        after: uuid.UUID | None = None
        counts[kind.table] = 0
        while True:
            batch = record_queries.record_batch(ctx.session, kind.model, after, batch_size)
            if not batch:
                break
            vault = FieldVault(ctx.session, ctx.keys)  # one per batch: a bounded key cache
            erased = record_queries.erased_ids(ctx.session, kind.table, [r.id for r in batch])
            index_queries.delete_entries(ctx.session, kind.table, erased)
            made = 0
            for record in batch:
                if record.id not in erased:
                    made += _index(ctx, kind, record, vault.unseal(record, *names))
            record_event(
                ctx.session,
                ctx.actor,
                AuditAction.BLIND_INDEX_REBUILD,
                fields=names,
                detail={
                    "table": kind.table,
                    "records": len(batch),
                    "entries": made,
                    "master_key_id": primary,
                },
            )
            ctx.session.flush()
            entries += made
            counts[kind.table] += len(batch)
            after = batch[-1].id
            if batch_done is not None:
                batch_done(len(batch))
    return ReindexOutcome(counts, entries, primary)
