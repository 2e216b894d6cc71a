"""add lock_version to every kind of record that can be edited

Revision ID: 7e258efdc24b
Revises: ff54313ac372
Create Date: 2026-12-01 23:30:00

Incidents had an optimistic lock already; every other kind of record that the pages
will edit gets one. Existing rows start at version 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7e258efdc24b"
down_revision = "ff54313ac372"
branch_labels = None
depends_on = None

TABLES = (
    "organisations",
    "sources",
    "reports",
    "state_responses",
    "persons",
    "consents",
    "acts",
    "involvements",
    "campaigns",
    "advocacy_actions",
    "action_responses",
    "follow_ups",
    "action_links",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        # The server default fills existing rows; the models set the value themselves.
        # SQLite adds the column in place (a NOT NULL column with a default) and keeps
        # the default, since dropping it would copy the table under its foreign keys.
        op.add_column(
            table, sa.Column("lock_version", sa.Integer(), nullable=False, server_default="1")
        )
        if postgresql:
            op.alter_column(table, "lock_version", server_default=None)


def downgrade() -> None:
    for table in reversed(TABLES):
        # SQLite 3.35 and later drop a column in place, like PostgreSQL.
        op.execute(f"ALTER TABLE {table} DROP COLUMN lock_version")
