"""evidence stored in the database

Revision ID: 6b2e1d3f4a5c
Revises: 5a1f0c2d3e4b
Create Date: 2026-12-04 10:10:00

(being written)
"""

from __future__ import annotations

revision = "6b2e1d3f4a5c"
down_revision = "5a1f0c2d3e4b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
