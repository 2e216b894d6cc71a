"""a rejected report keeps the reason it was rejected

Revision ID: b1d4e7a2c915
Revises: 7e258efdc24b
Create Date: 2026-12-02 01:00:00

Triage rejects a report with a reason; the reason stays with the report, so whoever
reads it later knows why it corroborates nothing. Existing reports have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b1d4e7a2c915"
down_revision = "7e258efdc24b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: SQLite and PostgreSQL both add it in place.
    op.add_column(
        "reports",
        sa.Column("rejection_reason", sa.Text(), nullable=True, comment="why triage rejected it"),
    )


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place, like PostgreSQL.
    op.execute("ALTER TABLE reports DROP COLUMN rejection_reason")
