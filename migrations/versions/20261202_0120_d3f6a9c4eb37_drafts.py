"""drafts: what a user was typing when their session ended, sealed, kept for a while

Revision ID: d3f6a9c4eb37
Revises: c2e5f8b3da26
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

revision = "d3f6a9c4eb37"
down_revision = "c2e5f8b3da26"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
