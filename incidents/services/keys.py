"""Master key lifecycle: status, adding a primary, re-wrapping data keys, retiring a key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import KeyFileProvider, KeyProvider, MasterKey, generate_master_key
from incidents.errors import ValidationError
from incidents.permissions import Permission, ensure
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import data_keys as key_queries

DEFAULT_BATCH = 5000  # large enough that page writes amortise; small enough to resume


@dataclass(frozen=True)
class KeyStatus:
    key_id: str
    state: str  # primary, held, or missing (data keys wrapped by a key no longer held)
    data_keys: int
    blind_index_entries: int = 0


def key_status(ctx: Context) -> list[KeyStatus]:
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    counts = key_queries.count_by_master_key(ctx.session)
    index_counts = index_queries.count_by_master_key(ctx.session)
    held = ctx.keys.key_ids()
    rows = [
        KeyStatus(
            key_id,
            "primary" if index == 0 else "held",
            counts.pop(key_id, 0),
            index_counts.pop(key_id, 0),
        )
        for index, key_id in enumerate(held)
    ]
    for key_id in sorted(set(counts) | set(index_counts)):
        rows.append(
            KeyStatus(key_id, "missing", counts.get(key_id, 0), index_counts.get(key_id, 0))
        )
    return rows


def _writable(provider: KeyProvider) -> KeyFileProvider:
    if not isinstance(provider, KeyFileProvider):
        raise ValidationError(
            "The master keys come from INCIDENTS_MASTER_KEY: change that variable instead "
            "(new key first), or use a key file (INCIDENTS_MASTER_KEY_FILE)."
        )
    return provider


def add_primary_key(
    ctx: Context, before_writing: Callable[[], None] | None = None
) -> tuple[MasterKey, KeyFileProvider]:
    """Generate a master key and make it the primary for new writes; old keys stay held.

    The audit event is recorded first and `before_writing` called (the command line
    commits there), then the key file is written at once: a process killed in between
    leaves an event naming a key never used, never a key in use that the log does not
    name. The caller carries on with the returned provider.
    """
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    key_file = _writable(ctx.keys)
    key = generate_master_key(development=key_file.is_development)
    record_event(ctx.session, ctx.actor, AuditAction.KEYS_ADD, detail={"key_id": key.key_id})
    if before_writing is not None:
        before_writing()
    return key, key_file.add_primary(key)


def pending_rewraps(ctx: Context) -> int:
    """How many data keys are not yet wrapped by the primary key."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    return key_queries.count_not_wrapped_by(ctx.session, ctx.keys.primary().key_id)


@dataclass(frozen=True)
class RewrapBatch:
    count: int  # data keys re-wrapped by this batch; 0 when the rotation is complete
    last_id: uuid.UUID | None  # where the next batch starts


def rewrap_batch(
    ctx: Context, batch_size: int = DEFAULT_BATCH, after: uuid.UUID | None = None
) -> RewrapBatch:
    """Re-wrap up to `batch_size` data keys (ids after `after`) under the primary key.

    Idempotent and resumable: a batch picks only keys still wrapped by another key, so a
    rotation killed at any point loses nothing and a new run (after=None) carries on.
    The caller commits after each batch and passes `last_id` to the next. Data is not
    re-encrypted; only the data keys' wrapping.
    """
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    provider = ctx.keys
    primary = provider.primary()
    rows = key_queries.batch_not_wrapped_by(ctx.session, primary.key_id, after, batch_size)
    if not rows:
        return RewrapBatch(0, None)
    masters = {key_id: provider.get(key_id) for key_id in {row.master_key_id for row in rows}}
    unwrap, wrap = envelope.unwrap_data_key, envelope.wrap_data_key
    updates = [
        {
            "key_row": key_row,
            "new_master_key_id": primary.key_id,
            "new_wrapped_key": wrap(
                primary,
                unwrap(masters[master_key_id], wrapped, table, record_id, team_id),
                table,
                record_id,
                team_id,
            ),
        }
        for key_row, table, record_id, team_id, master_key_id, wrapped in rows
    ]
    key_queries.update_wrapped_keys(ctx.session, updates)
    previous = sorted(masters)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.KEYS_REWRAP,
        detail={"to": primary.key_id, "from": previous, "data_keys": len(rows)},
    )
    return RewrapBatch(len(rows), rows[-1].id)


def rewrap_all(
    ctx: Context, batch_size: int = DEFAULT_BATCH, on_batch: Callable[[int], None] | None = None
) -> int:
    """Re-wrap every data key not under the primary; `on_batch` commits each batch.

    Batches go forward by id. A record written meanwhile by a process that still had the
    old key as its primary gets a data key that may lie behind the last batch: the pass
    that reaches the end starts over from the first id, and the rotation is complete only
    when a pass from the start finds nothing left to re-wrap.
    """
    done, after = 0, None
    while True:
        batch = rewrap_batch(ctx, batch_size, after)
        if batch.count:
            done += batch.count
            after = batch.last_id
            if on_batch is not None:
                on_batch(batch.count)
        elif after is None:
            return done
        else:
            after = None


def retire_key(ctx: Context, key_id: str) -> KeyFileProvider:
    """Remove `key_id` from the key file, refused while anything still depends on it."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    key_file = _writable(ctx.keys)
    in_use = key_queries.count_by_master_key(ctx.session).get(key_id, 0)
    indexed = index_queries.count_by_master_key(ctx.session).get(key_id, 0)
    if in_use or indexed:
        raise ValidationError(
            f"{key_id} still wraps {in_use} data keys and keys {indexed} blind-index entries: "
            "run `incidents keys rotate` and `incidents keys reindex` first."
        )
    updated = key_file.remove(key_id)
    record_event(ctx.session, ctx.actor, AuditAction.KEYS_RETIRE, detail={"key_id": key_id})
    return updated
