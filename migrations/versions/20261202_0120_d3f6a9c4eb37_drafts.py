"""drafts: what a user was typing when their session ended, sealed, kept for a while

Revision ID: d3f6a9c4eb37
Revises: c2e5f8b3da26
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "d3f6a9c4eb37"
down_revision = "c2e5f8b3da26"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "path",
            sa.String(length=500),
            nullable=False,
            comment="the page the form was posted to, and is restored on",
        ),
        sa.Column(
            "content",
            sa.LargeBinary(),
            nullable=False,
            comment="the form's fields as JSON, sealed with the draft's data key",
        ),
        sa.Column("created_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "expires_at",
            incidents.db.UtcDateTime(timezone=True),
            nullable=False,
            comment="discarded from then on, restored or not",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_drafts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_drafts_user_id_path", ["user_id", "path"], unique=False)


def downgrade() -> None:
    # A draft's data key goes with it: nothing it sealed can be opened afterwards.
    op.execute(sa.text("DELETE FROM data_keys WHERE record_table = 'drafts'"))
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_user_id_path")
        batch_op.drop_index(batch_op.f("ix_drafts_expires_at"))

    op.drop_table("drafts")
