"""api tokens carry scopes

Revision ID: ebde2de7d764
Revises: e4a7b0d5fc48
Create Date: 2026-12-03 06:00:00

A personal API token says what it may be used for (cases:read, advocacy:write…), as
space-separated scope names. No token was made before this revision; should a row exist,
it gets no scope at all, so it allows nothing until replaced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ebde2de7d764"
down_revision = "e4a7b0d5fc48"
branch_labels = None
depends_on = None

COMMENT = "space-separated scope names (incidents/permissions.py Scope)"


def upgrade() -> None:
    # The server default fills existing rows; the service always writes the value itself.
    # SQLite adds the column in place and keeps the default (dropping it would copy the
    # table), as for the lock versions.
    op.add_column(
        "api_tokens",
        sa.Column("scopes", sa.Text(), nullable=False, server_default="", comment=COMMENT),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("api_tokens", "scopes", server_default=None)


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place, like PostgreSQL.
    op.execute("ALTER TABLE api_tokens DROP COLUMN scopes")
