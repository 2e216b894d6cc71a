"""Recomputing the audit log's Merkle tree from its rows, and naming what does not fit.

One pass over the rows in position order: each row's canonical bytes are rebuilt from
the columns (so an edited column changes the leaf), compared with the leaf hash stored
beside it, and appended to a fresh tree. The tree is then compared with the head the
database recorded at each append and with every signed checkpoint given. Rows are
streamed through the driver's own cursor (a server-side cursor on PostgreSQL), read as
text and spliced into the canonical form without parsing: about 2 µs an event. Queued
events (incidents/audit/sequencer.py) are not leaves yet, nor rows of audit_events: the
pass covers the tree only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, String, Text, cast, func, literal_column, select

from incidents.audit import merkle
from incidents.audit.canonical import canonical_from_text
from incidents.audit.rows import TreeStateMissing
from incidents.audit.signing import Checkpoint
from incidents.models.audit import AuditEvent, AuditTreeState

HEAD_LABEL = "the tree head the database recorded"
BATCH = 20_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class HeldCheckpoint:
    """A checkpoint whose signature was checked, and where it came from (for messages)."""

    checkpoint: Checkpoint
    label: str


@dataclass
class Verification:
    """What one pass over the log found."""

    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    recorded_size: int | None = None
    recorded_root: bytes | None = None
    problem: str | None = None
    bad_event: int | None = None
    checkpoints_matched: list[HeldCheckpoint] = field(default_factory=list)
    leaves: merkle.LeafHashes | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, problem: str, event: int | None = None) -> None:
        if self.problem is None:
            self.problem = problem
            self.bad_event = event


def _text_columns(connection: Connection) -> Any:
    """The columns as text, the way canonical_from_text takes them."""
    if connection.dialect.name == "postgresql":
        occurred = cast(func.timezone(literal_column("'UTC'"), AuditEvent.occurred_at), String)
    else:
        occurred = cast(AuditEvent.occurred_at, String)
    return select(
        AuditEvent.id,
        occurred,
        cast(AuditEvent.actor_id, String),
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.target_table,
        AuditEvent.target_id,
        AuditEvent.target_ref,
        cast(AuditEvent.team_id, String),
        cast(AuditEvent.fields, Text),
        cast(AuditEvent.detail, Text),
        AuditEvent.leaf_hash,
    ).order_by(AuditEvent.id)


def stream_rows(connection: Connection, batch: int = BATCH) -> Iterator[Sequence[Any]]:
    """Every leaf's row as text, in position order, in bounded memory.

    The statement is built with Core and run on the driver's cursor: SQLAlchemy's row
    objects would cost more than the hashing itself.
    """
    statement = _text_columns(connection)
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name="incidents_audit_verify")  # server-side: rows come in batches
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def recorded_head(connection: Connection) -> tuple[int, bytes] | None:
    row = connection.execute(
        select(AuditTreeState.size, AuditTreeState.root).where(AuditTreeState.id == 1)
    ).one_or_none()
    return None if row is None else (int(row[0]), bytes(row[1]))


def verify_rows(
    rows: Iterator[Sequence[Any]],
    checkpoints: Sequence[HeldCheckpoint] = (),
    progress: Progress | None = None,
    keep_leaves: bool = False,
    progress_every: int = 10_000,
) -> Verification:
    """Recompute the tree from `rows`; stop at the first event that does not fit."""
    result = Verification(leaves=merkle.LeafHashes() if keep_leaves else None)
    pending = sorted(checkpoints, key=lambda held: held.checkpoint.size)
    frontier: list[bytes] = []
    size = 0
    pending = _check_reached(result, pending, frontier, size)
    leaf_hash, frontier_append = merkle.leaf_hash, merkle.frontier_append
    for row in rows:
        position = row[0]
        expected = size + 1
        if position != expected:
            result.fail(
                f"event {expected} is missing: the log goes from event {expected - 1} to "
                f"event {position} (deleted, or positions changed)",
                expected,
            )
            break
        stored = bytes(row[11]) if row[11] is not None else b""
        leaf = leaf_hash(canonical_from_text(row))
        if leaf != stored:
            leaf = leaf_hash(canonical_from_text(row, reparse=True))
            if leaf != stored:
                result.fail(
                    f"event {position} does not match its recorded hash: edited, moved or inserted",
                    position,
                )
                break
        frontier_append(frontier, size, leaf)
        size = expected
        if result.leaves is not None:
            result.leaves.append(leaf)
        if pending and pending[0].checkpoint.size == size:
            pending = _check_reached(result, pending, frontier, size)
            if not result.ok:
                break
        if progress is not None and size % progress_every == 0:
            progress(progress_every)
    if progress is not None and size % progress_every:
        progress(size % progress_every)
    result.size = size
    result.root = merkle.frontier_root(frontier)
    if result.ok and pending:
        held = pending[0]
        result.fail(
            f"the log has {size} events, fewer than the {held.checkpoint.size} of {held.label}: "
            f"events from {size + 1} on were removed (truncated)",
            size + 1,
        )
    return result


def _check_reached(
    result: Verification, pending: list[HeldCheckpoint], frontier: list[bytes], size: int
) -> list[HeldCheckpoint]:
    """Compare the checkpoints of exactly `size` events with the tree so far."""
    root = merkle.frontier_root(frontier)
    while pending and pending[0].checkpoint.size == size:
        held = pending.pop(0)
        if held.checkpoint.root != root:
            earlier = [c.checkpoint.size for c in result.checkpoints_matched]
            start = (max(earlier) if earlier else 0) + 1
            where = f"events {start}–{size}" if start < size else f"event {size}"
            result.fail(
                f"the first {size} events differ from {held.label}: one of {where} was "
                "changed and its hash recomputed (history rewritten)",
                start,
            )
            return pending
        result.checkpoints_matched.append(held)
    return pending


def head_as_checkpoint(head: tuple[int, bytes] | None) -> HeldCheckpoint:
    """The head record_event maintained, checked like a checkpoint at its size.

    It is read before the rows, so events appended meanwhile come after it; see
    `check_newer_head` for those.
    """
    if head is None:
        raise TreeStateMissing
    return HeldCheckpoint(Checkpoint("", head[0], head[1]), HEAD_LABEL)


def check_newer_head(result: Verification, head: tuple[int, bytes] | None) -> None:
    """After the pass: events beyond the first head read must be in the head read now."""
    if not result.ok or head is None:
        return
    size, root = head
    result.recorded_size, result.recorded_root = size, root
    if result.size > size:
        result.fail(
            f"event {size + 1} is not in the tree the database recorded ({size} events): "
            "inserted outside the application",
            size + 1,
        )
    elif result.size == size and result.root != root:
        result.fail(
            f"the {size} events do not hash to {HEAD_LABEL}: an event was changed and its "
            "hash recomputed (history rewritten)"
        )
