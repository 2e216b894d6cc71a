"""audit events queued in their transaction, integrated into the tree in batches

Revision ID: 7c3f2e4a5b6d
Revises: 6b2e1d3f4a5c
Create Date: 2026-12-04 10:20:00

A transaction on PostgreSQL writes its audit events into audit_queue: a lean table (its
primary key, the queue order, and no other index) holding the event's columns and
`leaf_template`, the event's canonical bytes as the application wrote them with a NUL
byte where the position goes. Integration moves the oldest queued events into
audit_events with their positions and leaf hashes, so an event row is written once,
already a leaf, and the guard on audit_events goes on refusing every UPDATE and DELETE.
The queue's own guard refuses UPDATE, and DELETE of any row but one whose event is
the newest in audit_events, column for column: a queued event leaves the queue only
into the log.

The integration is one function, audit_integrate(batch, max_leaves, max_seconds,
wait_seconds): it returns 0 when nothing is queued, NULL when another transaction holds
the tree head (SKIP LOCKED; it waits instead once the queue is past either bound, or up
to wait_seconds when that is above 0), or how many events it integrated: the oldest
`batch`, in queue order, each hashed from its template (SHA-256, RFC 6962) and appended
to the head's right frontier. One round trip, so a writer's turn at the head costs
about what its INSERT costs. Verification hashes every leaf again from its columns in
Python: a template that lied would show there.

On SQLite (one writer at a time: events go straight into the tree) the queue table
exists for restores of PostgreSQL archives; the application integrates it in Python.
The downgrade refuses while events are still queued: integrate them first (`incidents
audit verify`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "7c3f2e4a5b6d"
down_revision = "6b2e1d3f4a5c"
branch_labels = None
depends_on = None

QUEUE = "audit_queue"
TEMPLATE_COMMENT = "canonical bytes, NUL for the position"
# The event's columns, as audit_events has them (a position and a hash aside).
_EVENT_COLUMNS = (
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
)
_COPIED = "id, " + ", ".join(_EVENT_COLUMNS)
_FROM_QUEUED_ROW = ", ".join(f"queued_row.{c}" for c in _EVENT_COLUMNS)


def _queue_columns() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
            comment="the order of the queue",
        ),
        sa.Column("occurred_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_id", sa.Uuid(), nullable=True, comment="users.id, kept after the user goes"
        ),
        sa.Column(
            "actor", sa.String(length=254), nullable=False, comment="e-mail or 'cli:<os user>'"
        ),
        sa.Column("action", sa.String(length=64), nullable=False, comment="e.g. record.create"),
        sa.Column("target_table", sa.String(length=63), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("target_ref", sa.String(length=40), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False, comment="field names, never values"),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("leaf_template", sa.LargeBinary(), nullable=False, comment=TEMPLATE_COMMENT),
    ]


_SAME_AS_NEWEST = " AND ".join(
    f"newest.{c}::text IS NOT DISTINCT FROM OLD.{c}::text" for c in _EVENT_COLUMNS
)
QUEUE_GUARD = "audit_queue_leaves_into_the_log"
_QUEUE_GUARD_BODY = f"""
    BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (
                SELECT 1 FROM (SELECT * FROM audit_events ORDER BY id DESC LIMIT 1) AS newest
                WHERE {_SAME_AS_NEWEST}) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'queued audit events leave the queue only into the log: % refused',
            TG_OP USING ERRCODE = 'restrict_violation';
    END
"""  # noqa: S608 (the module's own constants, no input)

INTEGRATE = "audit_integrate"
_INTEGRATE_BODY = f"""
    DECLARE
        queued bigint;
        oldest timestamptz;
        head record;
        queued_row record;
        tree_size bigint;
        tree_frontier bytea;
        node bytea;
        carry bigint;
        cut integer;
        taken integer := 0;
        tree_root bytea;
        offset_ integer;
    BEGIN
        SELECT count(*), min(occurred_at) INTO queued, oldest FROM (
            SELECT occurred_at FROM audit_queue ORDER BY id LIMIT max_leaves + 1) AS q;
        IF queued = 0 THEN
            RETURN 0;
        END IF;
        IF wait_seconds > 0 THEN
            PERFORM set_config('lock_timeout', ceil(wait_seconds * 1000)::bigint::text, true);
            BEGIN
                SELECT size, audit_tree_state.frontier INTO head FROM audit_tree_state
                    WHERE id = 1 FOR UPDATE;
            EXCEPTION WHEN lock_not_available THEN
                RETURN NULL;
            END;
        ELSIF queued > max_leaves OR oldest < now() - make_interval(secs => max_seconds) THEN
            SELECT size, audit_tree_state.frontier INTO head FROM audit_tree_state
                WHERE id = 1 FOR UPDATE;
        ELSE
            SELECT size, audit_tree_state.frontier INTO head FROM audit_tree_state
                WHERE id = 1 FOR UPDATE SKIP LOCKED;
        END IF;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        tree_size := head.size;
        tree_frontier := head.frontier;
        FOR queued_row IN SELECT * FROM audit_queue ORDER BY id LIMIT batch LOOP
            cut := position('\\x00'::bytea IN queued_row.leaf_template);
            node := sha256('\\x00'::bytea
                || substring(queued_row.leaf_template FROM 1 FOR cut - 1)
                || convert_to((tree_size + 1)::text, 'UTF8')
                || substring(queued_row.leaf_template FROM cut + 1));
            INSERT INTO audit_events ({_COPIED}, leaf_hash) VALUES (tree_size + 1,
                {_FROM_QUEUED_ROW}, node);
            DELETE FROM audit_queue WHERE id = queued_row.id;
            carry := tree_size;
            WHILE carry & 1 = 1 LOOP
                node := sha256('\\x01'::bytea
                    || substring(tree_frontier FROM length(tree_frontier) - 31 FOR 32) || node);
                tree_frontier := substring(tree_frontier FROM 1 FOR length(tree_frontier) - 32);
                carry := carry >> 1;
            END LOOP;
            tree_frontier := tree_frontier || node;
            tree_size := tree_size + 1;
            taken := taken + 1;
        END LOOP;
        IF taken = 0 THEN
            RETURN 0;
        END IF;
        tree_root := substring(tree_frontier FROM length(tree_frontier) - 31 FOR 32);
        offset_ := length(tree_frontier) - 64;
        WHILE offset_ >= 0 LOOP
            tree_root := sha256('\\x01'::bytea || substring(tree_frontier FROM offset_ + 1 FOR 32)
                || tree_root);
            offset_ := offset_ - 32;
        END LOOP;
        UPDATE audit_tree_state SET size = tree_size, frontier = tree_frontier,
            root = tree_root, updated_at = now() WHERE id = 1;
        RETURN taken;
    END
"""  # noqa: S608 (the module's own constants, no input)
_INTEGRATE_ARGUMENTS = (
    "batch integer, max_leaves integer, max_seconds double precision, wait_seconds double precision"
)


def upgrade() -> None:
    op.create_table(QUEUE, *_queue_columns())
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION {QUEUE_GUARD}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $${_QUEUE_GUARD_BODY}$$"
    )
    op.execute(
        f"CREATE TRIGGER {QUEUE_GUARD} BEFORE UPDATE OR DELETE ON {QUEUE} "
        f"FOR EACH ROW EXECUTE FUNCTION {QUEUE_GUARD}()"
    )
    op.execute(
        f"CREATE TRIGGER {QUEUE_GUARD}_truncate BEFORE TRUNCATE ON {QUEUE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    )
    op.execute(
        f"CREATE FUNCTION {INTEGRATE}({_INTEGRATE_ARGUMENTS}) RETURNS integer "
        f"LANGUAGE plpgsql AS $${_INTEGRATE_BODY}$$"
    )


def downgrade() -> None:
    queued = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_queue"))
    if queued:
        raise RuntimeError(
            f"{queued} audit events are queued, not yet in the tree: integrate them "
            "(`incidents audit verify`) before downgrading"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {INTEGRATE}({_INTEGRATE_ARGUMENTS})")
    op.drop_table(QUEUE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {QUEUE_GUARD}()")
