"""Appending audit events in the caller's transaction; events name fields, never values.

Each event becomes the next leaf of the log's Merkle tree in the same transaction as
the change it records. The append locks the tree's one-row head (SELECT … FOR UPDATE on
PostgreSQL; on SQLite every transaction begins IMMEDIATE, holding the one write lock),
takes the next position, hashes the event's canonical bytes and moves the head on:
O(log n) hashes, no rescan. Writers
therefore take turns from their first event to their commit; a rolled-back transaction
leaves neither the event nor any change to the tree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction

from incidents.audit import merkle
from incidents.audit.actions import AuditAction
from incidents.audit.canonical import canonical_bytes, normalise_json
from incidents.db import utcnow
from incidents.models.audit import AuditEvent, AuditTreeState

STATE_ROW = 1
_PENDING = "incidents.audit.pending"  # events added since the session's transaction began


@dataclass(frozen=True)
class Actor:
    """Who acts, as the log names them: a user's e-mail and id, or `cli:<name>`."""

    label: str
    user_id: uuid.UUID | None = None


class TreeStateMissing(RuntimeError):
    """The database has no audit tree head: it was not migrated to head."""

    def __init__(self) -> None:
        super().__init__("the audit log has no tree head: run `incidents db upgrade`")


def record_event(
    session: Session,
    actor: Actor,
    action: AuditAction,
    target: Any = None,
    fields: list[str] | None = None,
    detail: dict[str, Any] | None = None,
    team_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add one event to the session; it commits, or rolls back, with the change it records.

    The event belongs to the target's team, or to `team_id` for a target that has none of
    its own (an action's response): auditors see the events of their teams only.
    """
    target_id = getattr(target, "id", None) if target is not None else None
    head = session.execute(
        select(AuditTreeState.size, AuditTreeState.frontier)
        .where(AuditTreeState.id == STATE_ROW)
        .with_for_update()
    ).one_or_none()
    if head is None:
        raise TreeStateMissing
    size, packed = head
    event = AuditEvent(
        id=size + 1,
        occurred_at=utcnow(),
        actor_id=actor.user_id,
        actor=actor.label,
        action=action.value,
        target_table=getattr(target, "__tablename__", None),
        target_id=str(target_id) if target_id is not None else None,
        target_ref=getattr(target, "reference", None),
        team_id=team_id or getattr(target, "team_id", None),
        fields=normalise_json(sorted(fields or [])),
        detail=normalise_json(detail or {}),
    )
    event.leaf_hash = merkle.leaf_hash(event_bytes(event))
    session.add(event)
    session.flush()  # the row and the head move together, statement by statement
    session.info[_PENDING] = session.info.get(_PENDING, 0) + 1
    frontier = merkle.unpack_frontier(packed, size)
    merkle.frontier_append(frontier, size, event.leaf_hash)
    head_table: Table = AuditTreeState.__table__  # type: ignore[assignment]
    session.execute(  # a Core statement: no ORM bookkeeping on the hot path
        update(head_table)
        .where(head_table.c.id == STATE_ROW)
        .values(
            size=size + 1,
            frontier=merkle.pack_frontier(frontier),
            root=merkle.frontier_root(frontier),
            updated_at=event.occurred_at,
        )
    )
    return event


def event_bytes(event: AuditEvent) -> bytes:
    """The canonical bytes of an event object (see incidents/audit/canonical.py)."""
    return canonical_bytes(
        position=event.id,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        target_table=event.target_table,
        target_id=event.target_id,
        target_ref=event.target_ref,
        team_id=event.team_id,
        fields=event.fields,
        detail=event.detail,
    )


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
