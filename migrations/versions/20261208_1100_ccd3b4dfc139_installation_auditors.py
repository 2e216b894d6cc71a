"""auditor scoping: the installation-auditor grant

Revision ID: ccd3b4dfc139
Revises: f56c5d55c6d4
Create Date: 2026-12-08 11:00:00

An auditor sees the audit log of their own teams; an administrator may make one an
installation auditor, who sees the whole log. Existing accounts are not: the server
default only fills their rows, and the service always writes the value itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ccd3b4dfc139"
down_revision = "f56c5d55c6d4"
branch_labels = None
depends_on = None


COMMENT = "auditor of the whole log, not only their teams'"


def upgrade() -> None:
    # SQLite adds the column in place and keeps the default (dropping it would copy the
    # users table, which others refer to), as for the API tokens' scopes.
    op.add_column(
        "users",
        sa.Column(
            "installation_auditor",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
            comment=COMMENT,
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("users", "installation_auditor", server_default=None)


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place, like PostgreSQL.
    op.execute("ALTER TABLE users DROP COLUMN installation_auditor")
