"""audit leaves queued in their transaction, integrated into the tree in batches

Revision ID: 7c3f2e4a5b6d
Revises: 6b2e1d3f4a5c
Create Date: 2026-12-04 10:20:00

(being written)
"""

from __future__ import annotations

revision = "7c3f2e4a5b6d"
down_revision = "6b2e1d3f4a5c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
