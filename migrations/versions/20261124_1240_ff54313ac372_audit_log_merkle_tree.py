"""audit log: Merkle leaf hashes, the tree head, and append-only triggers

Existing events get dense positions (ids renumbered in order where a rolled-back
sequence value left a gap), their leaf hashes and a tree head. Then triggers refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL) of audit events, and let the tree head
move only as an append moves it: one event on, to an event that exists. Every other
change of the head (a rewritten root or frontier at the same size, a jump, a shrink, a
delete) is refused.

Revision ID: ff54313ac372
Revises: 3e5d41f9773d
Create Date: 2026-11-24 12:40:20.585645
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import incidents.db  # column types of the DDL only; the backfill uses the frozen copy below

revision = "ff54313ac372"
down_revision = "3e5d41f9773d"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "audit_events_refuse_update": (
        "BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END"
    ),
    "audit_events_refuse_delete": (
        "BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END"
    ),
    "audit_tree_state_only_grows": (
        "BEFORE UPDATE ON audit_tree_state WHEN NEW.id <> OLD.id OR NEW.size <> OLD.size + 1 "
        "OR NOT EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.size) "
        "BEGIN SELECT RAISE(ABORT, 'the audit tree only grows, by one recorded event: "
        "UPDATE refused'); END"
    ),
    "audit_tree_state_refuse_delete": (
        "BEFORE DELETE ON audit_tree_state "
        "BEGIN SELECT RAISE(ABORT, 'the audit tree head cannot be deleted'); END"
    ),
}

POSTGRES_FUNCTIONS = {
    "audit_refuse_change": """
        BEGIN
            RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
    """,
    "audit_tree_only_grows": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'the audit tree only grows: DELETE refused'
                    USING ERRCODE = 'restrict_violation';
            END IF;
            IF NEW.id <> OLD.id OR NEW.size <> OLD.size + 1
                    OR NOT EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.size) THEN
                RAISE EXCEPTION 'the audit tree only grows, by one recorded event: % refused',
                    TG_OP USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END
    """,
}

POSTGRES_TRIGGERS = {
    "audit_events_append_only": (
        "BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW "
        "EXECUTE FUNCTION audit_refuse_change()"
    ),
    "audit_events_refuse_truncate": (
        "BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    ),
    "audit_tree_state_only_grows": (
        "BEFORE UPDATE OR DELETE ON audit_tree_state FOR EACH ROW "
        "EXECUTE FUNCTION audit_tree_only_grows()"
    ),
    "audit_tree_state_refuse_truncate": (
        "BEFORE TRUNCATE ON audit_tree_state FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_refuse_change()"
    ),
}

TRIGGER_TABLES = {
    "audit_events_append_only": "audit_events",
    "audit_events_refuse_truncate": "audit_events",
    "audit_tree_state_only_grows": "audit_tree_state",
    "audit_tree_state_refuse_truncate": "audit_tree_state",
}

# -- frozen copy of what the backfill computes ----------------------------------------------
# Version 1 of the canonical bytes (incidents/audit/canonical.py), RFC 6962 hashing and
# the right frontier (incidents/audit/merkle.py), and how a stored time is read, exactly as
# they were when this revision was written. A copy, not an import: if the application's
# format changes later, this old migration must still compute what it computed when it
# was released, or databases migrated today and tomorrow would hold different hashes.
# Do not edit; a new format needs a new migration.


class _UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A stored time as an aware UTC datetime (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _canonical_bytes_v1(
    *,
    position: int,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    actor: str,
    action: str,
    target_table: str | None,
    target_id: str | None,
    target_ref: str | None,
    team_id: uuid.UUID | None,
    fields: list[str],
    detail: dict[str, Any],
) -> bytes:
    document = {
        "action": action,
        "actor": actor,
        "actor_id": None if actor_id is None else str(actor_id),
        "detail": detail,
        "fields": fields,
        "id": position,
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "target_id": target_id,
        "target_ref": target_ref,
        "target_table": target_table,
        "team_id": None if team_id is None else str(team_id),
        "v": 1,
    }
    return json.dumps(document, sort_keys=True).encode("ascii")


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> None:
    node = leaf
    while size & 1:
        node = _node_hash(frontier.pop(), node)
        size >>= 1
    frontier.append(node)


def _frontier_root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = _node_hash(subtree, root)
    return root


# -- the backfill -------------------------------------------------------------------------

events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("occurred_at", _UtcDateTime()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_table", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("target_ref", sa.String()),
    sa.column("team_id", sa.Uuid()),
    sa.column("fields", sa.JSON()),
    sa.column("detail", sa.JSON()),
    sa.column("leaf_hash", sa.LargeBinary()),
)
tree_state = sa.table(
    "audit_tree_state",
    sa.column("id", sa.Integer()),
    sa.column("size", sa.BigInteger()),
    sa.column("root", sa.LargeBinary()),
    sa.column("frontier", sa.LargeBinary()),
    sa.column("updated_at", _UtcDateTime()),
)


def _hash_existing_events() -> tuple[int, list[bytes]]:
    """Give existing events dense positions and leaf hashes; return the tree's frontier."""
    connection = op.get_bind()
    ids = connection.execute(sa.select(events.c.id).order_by(events.c.id)).scalars().all()
    for position, old_id in enumerate(ids, start=1):
        if old_id != position:  # ascending order: the smaller id is always free by now
            connection.execute(events.update().where(events.c.id == old_id).values(id=position))
    frontier: list[bytes] = []
    size = 0
    for row in connection.execute(sa.select(events).order_by(events.c.id)).mappings():
        data = _canonical_bytes_v1(
            position=row["id"],
            occurred_at=row["occurred_at"],
            actor_id=row["actor_id"],
            actor=row["actor"],
            action=row["action"],
            target_table=row["target_table"],
            target_id=row["target_id"],
            target_ref=row["target_ref"],
            team_id=row["team_id"],
            fields=row["fields"],
            detail=row["detail"],
        )
        leaf = _leaf_hash(data)
        connection.execute(events.update().where(events.c.id == row["id"]).values(leaf_hash=leaf))
        _frontier_append(frontier, size, leaf)
        size += 1
    return size, frontier


def upgrade() -> None:
    op.create_table(
        "audit_tree_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="events in the tree"),
        sa.Column(
            "root",
            sa.LargeBinary(length=32),
            nullable=False,
            comment="Merkle tree hash of the first `size` events",
        ),
        sa.Column(
            "frontier",
            sa.LargeBinary(),
            nullable=False,
            comment="right frontier, 32 bytes per hash",
        ),
        sa.Column("updated_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_tree_state_single_row")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_audit_tree_state_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree_state")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "leaf_hash",
                sa.LargeBinary(length=32),
                nullable=True,
                comment="SHA-256(0x00 || canonical bytes): the event's Merkle leaf",
            )
        )

    size, frontier = _hash_existing_events()
    op.get_bind().execute(
        tree_state.insert().values(
            id=1,
            size=size,
            root=_frontier_root(frontier),
            frontier=b"".join(frontier),
            updated_at=datetime.now(UTC),
        )
    )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column(
            "leaf_hash",
            existing_type=sa.LargeBinary(length=32),
            nullable=False,
            existing_comment="SHA-256(0x00 || canonical bytes): the event's Merkle leaf",
        )

    if op.get_bind().dialect.name == "postgresql":
        for name, body in POSTGRES_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
        for name, definition in POSTGRES_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")
    else:
        for name, definition in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in TRIGGER_TABLES.items():
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for name in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("leaf_hash")

    op.drop_table("audit_tree_state")
