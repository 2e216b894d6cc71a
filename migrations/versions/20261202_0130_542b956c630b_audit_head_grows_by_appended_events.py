"""audit log: the tree head moves on by every event of one append, not only by one

A page that decrypts many records appends their events together (one INSERT, one move
of the head). The guard on the head keeps its meaning — the head only counts events
that are recorded — but now lets it move by k ≥ 1 when every one of the k positions
after the old size holds an event (positions are the primary key, so k rows in the
range are exactly those k positions). A rewrite at the same size, a shrink, a delete,
and a move over a position with no event are refused as before.

Revision ID: 542b956c630b
Revises: d3f6a9c4eb37
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

from alembic import op

revision = "542b956c630b"
down_revision = "d3f6a9c4eb37"
branch_labels = None
depends_on = None

TRIGGER = "audit_tree_state_only_grows"
FUNCTION = "audit_tree_only_grows"

# What the head may become, in each dialect's trigger language: the same row, larger,
# and every new position recorded.
_BY_ONE = (
    "NEW.id <> OLD.id OR NEW.size <> OLD.size + 1 "
    "OR NOT EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.size)"
)
_BY_APPEND = (
    "NEW.id <> OLD.id OR NEW.size <= OLD.size "
    "OR (SELECT count(*) FROM audit_events WHERE id > OLD.size AND id <= NEW.size) "
    "<> NEW.size - OLD.size"
)


def _sqlite_trigger(refused_when: str, message: str) -> str:
    return (
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON audit_tree_state WHEN {refused_when} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


def _postgres_function(refused_when: str, message: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'the audit tree only grows: DELETE refused'
                    USING ERRCODE = 'restrict_violation';
            END IF;
            IF {refused_when} THEN
                RAISE EXCEPTION '{message}: % refused', TG_OP
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END
    $$"""


def _guard(refused_when: str, message: str) -> list[str]:
    """The statements that put this guard on the head, in the database's dialect."""
    if op.get_bind().dialect.name == "postgresql":
        return [_postgres_function(refused_when, message)]
    return [f"DROP TRIGGER {TRIGGER}", _sqlite_trigger(refused_when, f"{message}: UPDATE refused")]


def upgrade() -> None:
    for statement in _guard(_BY_APPEND, "the audit tree only grows, by recorded events"):
        op.execute(statement)


def downgrade() -> None:
    for statement in _guard(_BY_ONE, "the audit tree only grows, by one recorded event"):
        op.execute(statement)
