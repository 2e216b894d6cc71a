"""merges of duplicate people, kept so that each can be reviewed and undone

Revision ID: c2e5f8b3da26
Revises: b1d4e7a2c915
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

revision = "c2e5f8b3da26"
down_revision = "b1d4e7a2c915"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
