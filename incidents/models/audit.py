"""Audit events: who did what to which record, never with secret values.

The events are the leaves of an append-only Merkle tree (incidents/audit/merkle.py);
`AuditTreeState` is the tree's one-row head, which every integration of events locks and
moves on. On PostgreSQL a transaction writes its events into the queue first
(`QueuedAuditEvent`), and an integration moves them into the tree, each row of
audit_events written once, already a leaf (incidents/audit/sequencer.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, restricted, system, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # The auditor's filters by record and by actor page newest first through these (value,
    # position) keys: a page reads its events only, however long the log.
    __table_args__ = (
        Index("ix_audit_events_target_id_id", "target_id", "id"),
        Index("ix_audit_events_target_ref_id", "target_ref", "id"),
        Index("ix_audit_events_actor_label_id", "actor", "id"),
    )

    # INTEGER on SQLite so that the column is the rowid. The id is the event's position in
    # the log, from 1, with no gaps: assigned under the tree's lock (leaf index = id - 1),
    # never the database's sequence, which leaves gaps on rollback.
    id: Mapped[int] = restricted(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = restricted(
        Uuid, comment="users.id, kept after the user goes"
    )
    actor: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    action: Mapped[str] = restricted(String(64), index=True, comment="e.g. record.create")
    target_table: Mapped[str | None] = restricted(String(63))
    target_id: Mapped[str | None] = restricted(String(64))  # (target_id, id) above
    target_ref: Mapped[str | None] = restricted(String(40))
    team_id: Mapped[uuid.UUID | None] = restricted(Uuid)
    fields: Mapped[list[str]] = restricted(JSON, default=list, comment="field names, never values")
    detail: Mapped[dict[str, Any]] = restricted(JSON, default=dict)
    # Bookkeeping of the log (system): verification recomputes it from the columns above.
    leaf_hash: Mapped[bytes] = system(
        LargeBinary(32), comment="SHA-256(0x00 || canonical bytes): the event's Merkle leaf"
    )


class QueuedAuditEvent(Base):
    """An event committed with its change, not yet in the tree (PostgreSQL's writers).

    A lean table, its primary key (the queue's order) and no other index, so a writer's
    INSERT costs what a plain one costs; integration moves the oldest rows into
    audit_events and deletes them here, which the table's guard allows for those only.
    """

    __tablename__ = "audit_queue"

    id: Mapped[int] = system(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
        comment="the order of the queue",
    )
    occurred_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = restricted(
        Uuid, comment="users.id, kept after the user goes"
    )
    actor: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    action: Mapped[str] = restricted(String(64), comment="e.g. record.create")
    target_table: Mapped[str | None] = restricted(String(63))
    target_id: Mapped[str | None] = restricted(String(64))
    target_ref: Mapped[str | None] = restricted(String(40))
    team_id: Mapped[uuid.UUID | None] = restricted(Uuid)
    fields: Mapped[list[str]] = restricted(JSON, default=list, comment="field names, never values")
    detail: Mapped[dict[str, Any]] = restricted(JSON, default=dict)
    # The canonical bytes the writer computed, a NUL byte where the position goes: what
    # integration hashes. Not evidence of anything: verification hashes the columns again.
    leaf_template: Mapped[bytes] = system(
        LargeBinary, comment="canonical bytes, NUL for the position"
    )


class AuditTreeState(Base):
    """The head of the audit log's Merkle tree: one row, locked by every integration.

    `frontier` holds the roots of the perfect subtrees the tree splits into (one per set
    bit of `size`, largest first, 32 bytes each), so an append costs O(log n) hashes and
    never a rescan. Triggers let the row grow but never shrink or go away.
    """

    __tablename__ = "audit_tree_state"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("size >= 0", name="size"),
    )

    id: Mapped[int] = system(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = system(BigInteger, comment="events in the tree")
    root: Mapped[bytes] = system(
        LargeBinary(32), comment="Merkle tree hash of the first `size` events"
    )
    frontier: Mapped[bytes] = system(LargeBinary, comment="right frontier, 32 bytes per hash")
    updated_at: Mapped[datetime] = system(UtcDateTime, default=utcnow)
