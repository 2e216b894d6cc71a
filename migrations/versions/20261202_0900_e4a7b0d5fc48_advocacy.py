"""advocacy: a response may name the report that supports it; a follow-up calendar feed
per user

Revision ID: e4a7b0d5fc48
Revises: 542b956c630b
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e4a7b0d5fc48"
down_revision = "542b956c630b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action_responses") as batch:
        batch.add_column(sa.Column("supporting_report_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_action_responses_supporting_report_id_reports",
            "reports",
            ["supporting_report_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "ix_action_responses_supporting_report_id", ["supporting_report_id"]
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("calendar_token_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_users_calendar_token_hash", ["calendar_token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_calendar_token_hash", type_="unique")
        batch.drop_column("calendar_token_hash")
    with op.batch_alter_table("action_responses") as batch:
        batch.drop_index("ix_action_responses_supporting_report_id")
        batch.drop_constraint(
            "fk_action_responses_supporting_report_id_reports", type_="foreignkey"
        )
        batch.drop_column("supporting_report_id")
