"""indexes behind the audit log's filters and a team's incident list

Revision ID: 5a1f0c2d3e4b
Revises: ebde2de7d764
Create Date: 2026-12-04 10:00:00

(being written)
"""

from __future__ import annotations

revision = "5a1f0c2d3e4b"
down_revision = "ebde2de7d764"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
