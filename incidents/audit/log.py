"""Appending audit events in the caller's transaction; events name fields, never values.

Each event becomes the next leaf of the log's Merkle tree in the same transaction as
the change it records. The append locks the tree's one-row head (SELECT … FOR UPDATE on
PostgreSQL; on SQLite every transaction begins IMMEDIATE, holding the one write lock),
takes the next position, hashes the event's canonical bytes and moves the head on:
O(log n) hashes, no rescan. Several events (a page that decrypts many records) go in one
append: one lock, one INSERT, one move of the head. Writers therefore take turns from
their first event to their commit; a rolled-back transaction leaves neither the event
nor any change to the tree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction

from incidents.audit import merkle
from incidents.audit.actions import AuditAction
from incidents.audit.canonical import canonical_bytes, normalise_json
from incidents.db import utcnow
from incidents.models.audit import AuditEvent, AuditTreeState

STATE_ROW = 1
_PENDING = "incidents.audit.pending"  # events added since the session's transaction began
_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditTreeState.__table__)
# 12 values a row: 1,000 rows stay far below SQLite's and PostgreSQL's limits on the
# parameters of one statement (32,766 and 65,535); no page writes that many at once.
_ROWS_PER_INSERT = 1000
_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor",
    "action",
    "target_table",
    "target_id",
    "target_ref",
    "team_id",
    "fields",
    "detail",
    "leaf_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who acts, as the log names them: a user's e-mail and id, or `cli:<name>`."""

    label: str
    user_id: uuid.UUID | None = None


class TreeStateMissing(RuntimeError):
    """The database has no audit tree head: it was not migrated to head."""

    def __init__(self) -> None:
        super().__init__("the audit log has no tree head: run `incidents db upgrade`")


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
    """Append `new` in its order as the next leaves, in three statements however many
    there are: the head locked once, one multi-row INSERT, the head moved once.

    The leaves, positions and root are those of appending the events one by one with
    `record_event` (tests/audit/test_batches.py): a page that decrypts fifty records
    writes fifty events without fifty round trips to the head. The returned events are
    not in the session (written by Core); reading them back loads them.
    """
    if not new:
        return []
    session.flush()  # what the events describe is written first, as one append did
    head = session.execute(
        select(AuditTreeState.size, AuditTreeState.frontier)
        .where(AuditTreeState.id == STATE_ROW)
        .with_for_update()
    ).one_or_none()
    if head is None:
        raise TreeStateMissing
    size, packed = head
    frontier = merkle.unpack_frontier(packed, size)
    events = []
    for position, item in enumerate(new, start=size + 1):
        event = _event(position, actor, item)
        merkle.frontier_append(frontier, position - 1, event.leaf_hash)
        events.append(event)
    for start in range(0, len(events), _ROWS_PER_INSERT):
        session.execute(
            insert(_EVENTS).values([_row(e) for e in events[start : start + _ROWS_PER_INSERT]])
        )
    session.info[_PENDING] = session.info.get(_PENDING, 0) + len(events)
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
    return events


def _event(position: int, actor: Actor, new: NewEvent) -> AuditEvent:
    target = new.target
    target_id = getattr(target, "id", None) if target is not None else None
    event = AuditEvent(
        id=position,
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
    event.leaf_hash = merkle.leaf_hash(event_bytes(event))
    return event


def _row(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _COLUMNS}


# What an event's leaf covers besides its position (incidents/audit/canonical.py): every
# column between its id and its leaf hash.
_HASHED = _COLUMNS[1:-1]


def event_bytes(event: AuditEvent) -> bytes:
    """The canonical bytes of an event object (see incidents/audit/canonical.py)."""
    return row_bytes(_row(event))


def row_bytes(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an event read as a row of its columns (a backup's, say)."""
    return canonical_bytes(position=row["id"], **{name: row[name] for name in _HASHED})


def pending_events(session: Session) -> int:
    """Audit events added in the session's current transaction, not yet committed."""
    count: int = session.info.get(_PENDING, 0)
    return count


@orm_event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    # Committed or rolled back, the session's own transaction has settled its events; a
    # savepoint ending settles nothing on its own.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
