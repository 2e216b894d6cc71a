"""Appending audit events in the caller's transaction; events name fields, never values.

An event is written in the same transaction as the change it records: it commits, or
rolls back, with it. On PostgreSQL it is written queued (incidents/audit/sequencer.py):
one INSERT into audit_queue, numbered by its sequence, no position, no leaf hash, the
tree head untouched, so writers never wait for each other while they work.
As the transaction commits, the writer takes its turn at the head if it is free (FOR
UPDATE SKIP LOCKED, in the same commit) and integrates the oldest queued leaves, its
own among them: positions, leaf hashes, the head moved on. Only if the head was taken
does it call once more right after the commit, waiting briefly for the head this time,
for its own leaves. A rolled-back transaction leaves no queued leaf, so none ever
reaches the tree.

On SQLite there is one writer at a time (every transaction begins IMMEDIATE): the
append integrates at once, in the writer's transaction, as one batch — the head read
(the write lock is already held), the next positions, one INSERT, the head moved —
and nothing is ever queued. Either way the leaves and the root are those of appending
the events one by one, O(log n) hashes an event, no rescan.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction

from incidents.audit import merkle, sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.canonical import normalise_json
from incidents.audit.rows import (
    QUEUED_COLUMNS,
    STATE_ROW,
    TreeStateMissing,
    event_bytes,
    event_row,
    leaf_template,
    row_bytes,
)
from incidents.db import utcnow
from incidents.models.audit import AuditEvent, AuditTreeState, QueuedAuditEvent

__all__ = [
    "STATE_ROW",
    "Actor",
    "NewEvent",
    "TreeStateMissing",
    "event_bytes",
    "pending_events",
    "record_event",
    "record_events",
    "row_bytes",
]

_PENDING = "incidents.audit.pending"  # events added since the session's transaction began
_QUEUED = "incidents.audit.queued"  # the transaction queued leaves: integrate after commit
_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditTreeState.__table__)
# 12 values a row: 1,000 rows stay far below SQLite's and PostgreSQL's limits on the
# parameters of one statement (32,766 and 65,535); no page writes that many at once.
_ROWS_PER_INSERT = 1000
_QUEUE_INSERT = insert(cast(Table, QueuedAuditEvent.__table__))  # numbered by its sequence


@dataclass(frozen=True)
class Actor:
    """Who acts, as the log names them: a user's e-mail and id, or `cli:<name>`."""

    label: str
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NewEvent:
    """One event to append with `record_events`: the arguments of `record_event`."""

    action: AuditAction
    target: Any = None
    fields: Sequence[str] | None = None
    detail: Mapping[str, Any] | None = None
    team_id: uuid.UUID | None = None


def record_event(
    session: Session,
    actor: Actor,
    action: AuditAction,
    target: Any = None,
    fields: Sequence[str] | None = None,
    detail: Mapping[str, Any] | None = None,
    team_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add one event to the session; it commits, or rolls back, with the change it records.

    The event belongs to the target's team, or to `team_id` for a target that has none of
    its own (an action's response): auditors see the events of their teams only.
    """
    (event,) = record_events(session, actor, [NewEvent(action, target, fields, detail, team_id)])
    return event


def record_events(session: Session, actor: Actor, new: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append `new` in its order, in a fixed number of statements however many there are.

    On PostgreSQL: one INSERT of queued events; the returned events have no id
    and no leaf hash yet (integration gives them, after the commit). On SQLite: three
    statements (the head read, one INSERT, the head moved), and the returned events carry
    their positions and leaf hashes. The leaves, positions and root are those of
    appending the events one by one (tests/audit/test_batches.py). The returned events
    are not in the session (written by Core); reading them back loads them.
    """
    if not new:
        return []
    session.flush()  # what the events describe is written first, as one append did
    events = [_event(actor, item) for item in new]
    if session.get_bind().dialect.name == "postgresql":
        _queue(session, events)
    else:
        _integrate_now(session, events)
    session.info[_PENDING] = session.info.get(_PENDING, 0) + len(events)
    return events


def _queue(session: Session, events: list[AuditEvent]) -> None:
    for start in range(0, len(events), _ROWS_PER_INSERT):
        rows = [_queued_row(e) for e in events[start : start + _ROWS_PER_INSERT]]
        if len(rows) == 1:  # the common case: a statement compiled once per process
            session.execute(_QUEUE_INSERT, rows[0])
        else:  # one multi-row INSERT, compiled for its number of rows
            session.execute(_QUEUE_INSERT.values(rows))
    session.info[_QUEUED] = session.connection()  # its turn at the head comes after commit


def _queued_row(event: AuditEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in QUEUED_COLUMNS}
    return row | {"leaf_template": leaf_template(event)}


def _integrate_now(session: Session, events: list[AuditEvent]) -> None:
    head = session.execute(
        select(AuditTreeState.size, AuditTreeState.frontier).where(AuditTreeState.id == STATE_ROW)
    ).one_or_none()
    if head is None:
        raise TreeStateMissing
    size, packed = head
    frontier = merkle.unpack_frontier(packed, size)
    for position, event in enumerate(events, start=size + 1):
        event.id = position
        event.leaf_hash = merkle.leaf_hash(event_bytes(event))
        merkle.frontier_append(frontier, position - 1, event.leaf_hash)
    for start in range(0, len(events), _ROWS_PER_INSERT):
        session.execute(
            insert(_EVENTS).values([event_row(e) for e in events[start : start + _ROWS_PER_INSERT]])
        )
    session.execute(  # Core statements: no ORM bookkeeping on the hot path
        update(_HEAD)
        .where(_HEAD.c.id == STATE_ROW)
        .values(
            size=size + len(events),
            frontier=merkle.pack_frontier(frontier),
            root=merkle.frontier_root(frontier),
            updated_at=events[-1].occurred_at,
        )
    )


def _event(actor: Actor, new: NewEvent) -> AuditEvent:
    target = new.target
    target_id = getattr(target, "id", None) if target is not None else None
    return AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.user_id,
        actor=actor.label,
        action=new.action.value,
        target_table=getattr(target, "__tablename__", None),
        target_id=str(target_id) if target_id is not None else None,
        target_ref=getattr(target, "reference", None),
        team_id=new.team_id or getattr(target, "team_id", None),
        fields=normalise_json(sorted(new.fields or [])),
        detail=normalise_json(dict(new.detail or {})),
    )


def pending_events(session: Session) -> int:
    """Audit events added in the session's current transaction, not yet committed."""
    count: int = session.info.get(_PENDING, 0)
    return count


@orm_event.listens_for(Session, "before_commit")
def _committing(session: Session) -> None:
    # The last moment of the writer's transaction: if the head is free, its leaves (and
    # whatever is queued) join the tree in the same commit; if not, nobody waits.
    # SQLAlchemy calls this for a savepoint's release too: a transaction of many (an
    # import's row each) would take the head at every one, and each turn would walk the
    # queue rows it had already moved, still there for it until it commits.
    if session.in_nested_transaction():
        return
    if session.info.get(_QUEUED) is not None and not sequencer.before_commit(session):
        session.info.pop(_QUEUED)  # its leaves are in the tree as it commits


@orm_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # The queued leaves are durable now: the turn at the tree head it could not take.
    # A savepoint released is not a commit (SQLAlchemy calls this for it too).
    if session.in_nested_transaction():
        return
    connection = session.info.pop(_QUEUED, None)
    if connection is not None:
        sequencer.after_commit(connection)


@orm_event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    # Committed or rolled back, the session's own transaction has settled its events; a
    # savepoint ending settles nothing on its own.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_QUEUED, None)
