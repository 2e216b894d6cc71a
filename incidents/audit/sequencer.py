"""Integrating queued audit events into the Merkle tree, in batches, by whoever gets the head.

On PostgreSQL a transaction writes its events into the queue (incidents/audit/log.py):
rows of audit_queue, a lean table (its key, from a sequence, is the queue's order; no
other index), committed or rolled back with the change they record, without touching
the tree head. The database function audit_integrate (the migration 7c3f2e4a5b6d) is a
turn at the head: it locks the head with SKIP LOCKED, moves the oldest queued events,
in queue order, into audit_events at the next positions with their leaf hashes (each
row of the log written once, already a leaf), deletes them from the queue and moves the
head on — one round trip a batch — or returns NULL when another transaction holds the
head. A writer calls it as it commits, in its own transaction (one fsync for the
change, its events and their positions): one round trip, and in the common case that is
all. A writer that found the head taken calls it once more after its commit, in a
transaction of its own, and this time waits for the head (at most `handover`; its holder
commits within milliseconds): it sees its own events committed, and integrates them with
whatever else is queued. So every writer integrates its own events, and a holder never
needs to look at the queue again. Queue order is the order the integrator sees: an event
whose transaction commits after a younger one's joins a later batch; a position once
given never changes. A writer killed between its commit and its turn (or that waited in
vain) leaves its events to the next writer, and verification, checkpoints, proofs and
the audit page integrate first.

The queue is bounded in leaves and in the age of its oldest (settings
audit_queue_max_leaves, audit_queue_max_seconds): past either bound the function waits
for the head instead of skipping it, so writers slow down rather than let the queue
grow if integration falls behind.

The transactions after a commit are the sequencer's own, never a caller's unit of work:
they commit only the integration of events already committed. On SQLite there is one
writer at a time: record_events integrates in the writer's transaction and nothing is
queued; rows queued by other means (a restored archive) are integrated here, in Python,
in the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from incidents.audit import merkle
from incidents.audit.rows import QUEUED_COLUMNS, STATE_ROW, TreeStateMissing, row_bytes
from incidents.db import utcnow
from incidents.models.audit import AuditEvent, AuditTreeState, QueuedAuditEvent

log = logging.getLogger(__name__)

_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditTreeState.__table__)
_QUEUE = cast(Table, QueuedAuditEvent.__table__)
BATCH = 1000  # leaves one integration takes at most: one short transaction


@dataclass(frozen=True)
class QueueBounds:
    """How many queued leaves, and how old the oldest, before writers wait for the head."""

    max_leaves: int = 1000
    max_age: timedelta = timedelta(seconds=5)
    # How long a writer whose turn was skipped waits, once committed, for the head: an
    # integration holds it for milliseconds; past this the leaves wait for the next one.
    handover: timedelta = timedelta(seconds=2)


_bounds = QueueBounds()


def set_bounds(bounds: QueueBounds) -> None:
    """The bounds of this process (from the settings, when the application is built)."""
    global _bounds
    _bounds = bounds


@dataclass
class Integration:
    """What `integrate_queued` did: leaves it integrated, leaves it saw left queued."""

    integrated: int = 0
    queued: int = 0


def integrate_queued(session: Session) -> Integration:
    """Integrate the queued leaves the database shows, batch by batch, until none is left
    or another transaction holds the head (the writers of the leaves committed meanwhile
    take their turns after their commits).

    On PostgreSQL never in the session's own transaction, so that the head is not held
    while the caller goes on: a connection of its own, or, for a session bound to a
    connection already in a transaction (the tests'), savepoints on it. On SQLite in the
    caller's transaction, which holds the one write lock anyway.
    """
    if not queued_count(session.connection(), at_most=1):  # readers: usually nothing queued
        return Integration()
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return _integrate_here(session.connection())
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            done = _integrate_postgres(connection)
    else:
        done = _integrate_postgres(bind)
    done.queued = queued_count(session.connection())
    return done


def before_commit(session: Session) -> bool:
    """In the writer's transaction, as it commits: one batch if the head is free (SKIP
    LOCKED; past a bound it waits, as integrating synchronously), the same fsync for the
    change, its leaves and their positions. A commit that then fails takes all back.
    Whether the writer still has a turn to take after its commit: when the head was
    held by another transaction, or when the batch was full (more may be queued)."""
    taken = session.connection().exec_driver_sql(_INTEGRATE, _arguments()).scalar()
    return taken is None or taken >= BATCH


def integrate_in_transaction(session: Session) -> None:
    """Integrate what is queued in the session's own transaction, waiting for the head if
    another holds it (milliseconds): for the rare event that the transaction reads back
    as a leaf before it commits (a verification's, which holds the next one back). The
    head stays held until the commit. On SQLite the events are leaves already."""
    if session.get_bind().dialect.name == "sqlite":
        return
    session.flush()
    waiting = (BATCH, 0, _bounds.max_age.total_seconds(), 0.0)  # max_leaves 0: it waits
    connection = session.connection()
    while connection.exec_driver_sql(_INTEGRATE, waiting).scalar():
        pass


def after_commit(connection: Connection) -> None:
    """Once committed, on the connection that wrote the leaves, when its turn at the head
    was skipped: wait for the head (its holder commits within milliseconds; at most
    `handover`) and integrate what is queued, this writer's leaves among them. A failure
    here loses nothing (the leaves stay queued for the next writer, or for
    verification), so it is logged only."""
    try:
        if _integrate_postgres(connection, wait=_bounds.handover).queued:
            log.info("audit leaves left queued for the next writer: the head stayed taken")
    except Exception as exc:  # the commit is done; the queue keeps the leaves
        log.warning("audit leaves left queued for the next writer: %s", exc)


_INTEGRATE = "SELECT audit_integrate(%s, %s, %s, %s)"


def _arguments(wait: timedelta = timedelta(0)) -> tuple[int, int, float, float]:
    return (BATCH, _bounds.max_leaves, _bounds.max_age.total_seconds(), wait.total_seconds())


def _integrate_postgres(connection: Connection, wait: timedelta = timedelta(0)) -> Integration:
    """Call audit_integrate (the migration's function: one round trip a batch) until it
    finds the queue empty (0) or the head taken (NULL: `queued` is then 1, some left)."""
    done = Integration()
    arguments = _arguments(wait)
    if connection.in_transaction():  # a caller's transaction: a savepoint a batch
        while True:
            with connection.begin_nested():
                taken = connection.exec_driver_sql(_INTEGRATE, arguments).scalar()
            if not taken:
                break
            done.integrated += taken
    else:  # each call its own transaction: the function commits as it returns
        raw: Any = connection.connection.driver_connection
        raw.autocommit = True
        try:
            while taken := raw.execute(_INTEGRATE, arguments).fetchone()[0]:
                done.integrated += taken
        finally:
            raw.autocommit = False
    done.queued = int(taken is None)
    return done


def integrate_restored(connection: Connection) -> int:
    """Integrate every queued row of a restore, in its transaction; how many there were."""
    if not queued_count(connection, at_most=1):
        return 0
    if connection.dialect.name == "sqlite":
        return _integrate_here(connection).integrated
    return _integrate_postgres(connection).integrated


def _integrate_here(connection: Connection) -> Integration:
    """SQLite: every queued leaf, in the connection's transaction, in Python."""
    done = Integration()
    while taken := integrate_batch(connection):
        done.integrated += taken
    return done


def queued_count(connection: Connection, at_most: int | None = None) -> int:
    """The queued events the connection sees (up to `at_most`); not on the writers' path.
    None in a database migrated to a revision before the queue (its tests verify it)."""
    if not inspect(connection).has_table(_QUEUE.name):
        return 0
    queued = select(_QUEUE.c.id)
    if at_most is not None:
        queued = queued.limit(at_most)
    counted = select(func.count()).select_from(queued.subquery())
    return int(connection.scalar(counted) or 0)


_QUEUED_ROWS = select(_QUEUE.c.id, *(_QUEUE.c[name] for name in QUEUED_COLUMNS)).order_by(
    _QUEUE.c.id
)


def integrate_batch(connection: Connection, batch: int = BATCH) -> int:
    """SQLite, in the connection's transaction (which holds the write lock): move the
    oldest `batch` queued events into the tree, hashed from their columns; how many."""
    head = connection.execute(
        select(AuditTreeState.size, AuditTreeState.frontier).where(AuditTreeState.id == STATE_ROW)
    ).one_or_none()
    if head is None:
        raise TreeStateMissing
    size, packed = head
    rows = connection.execute(_QUEUED_ROWS.limit(batch)).mappings().all()
    if not rows:
        return 0
    frontier = merkle.unpack_frontier(packed, size)
    leaves = []
    for position, row in enumerate(rows, start=size + 1):
        leaf = {**row, "id": position}
        leaf["leaf_hash"] = merkle.leaf_hash(row_bytes(leaf))
        merkle.frontier_append(frontier, position - 1, leaf["leaf_hash"])
        leaves.append(leaf)
    connection.execute(insert(_EVENTS), leaves)
    connection.execute(delete(_QUEUE).where(_QUEUE.c.id.in_([row["id"] for row in rows])))
    connection.execute(
        update(_HEAD)
        .where(_HEAD.c.id == STATE_ROW)
        .values(
            size=size + len(leaves),
            frontier=merkle.pack_frontier(frontier),
            root=merkle.frontier_root(frontier),
            updated_at=utcnow(),
        )
    )
    return len(leaves)
