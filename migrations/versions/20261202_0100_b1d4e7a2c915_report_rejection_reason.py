"""a rejected report keeps the reason it was rejected

Revision ID: b1d4e7a2c915
Revises: 7e258efdc24b
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

revision = "b1d4e7a2c915"
down_revision = "7e258efdc24b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
