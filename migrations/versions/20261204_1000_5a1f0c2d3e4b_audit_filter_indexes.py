"""indexes behind the audit log's filters and a team's incident list

Revision ID: 5a1f0c2d3e4b
Revises: ebde2de7d764
Create Date: 2026-12-04 10:00:00

The audit log filtered by record or by actor, and a team's incident list, page through
keyset scans that these (value, position) and (team, reference) indexes serve, so that
a page reads its own rows however large the database. Plain CREATE INDEX: the audit
table, guarded by triggers, is never rebuilt. The single-column indexes on target_id
(which (target_id, id) covers) and on actor_id (which no query filters on) go: every
audit append paid for them.
"""

from __future__ import annotations

from alembic import op

revision = "5a1f0c2d3e4b"
down_revision = "ebde2de7d764"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_events_target_id_id", "audit_events", ["target_id", "id"]),
    ("ix_audit_events_target_ref_id", "audit_events", ["target_ref", "id"]),
    ("ix_audit_events_actor_label_id", "audit_events", ["actor", "id"]),
    ("ix_incidents_team_id_reference", "incidents", ["team_id", "reference"]),
)
REDUNDANT = (
    ("ix_audit_events_target_id", "audit_events", ["target_id"]),
    ("ix_audit_events_actor_id", "audit_events", ["actor_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in reversed(REDUNDANT):
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
