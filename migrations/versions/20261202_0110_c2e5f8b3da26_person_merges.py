"""merges of duplicate people, kept so that each can be reviewed and undone

Revision ID: c2e5f8b3da26
Revises: b1d4e7a2c915
Create Date: 2026-12-02 01:10:00

One row per merge: the person kept, the person merged into them, the ids of the acts
and consents moved, who merged and when, and who undid it and when. A person is merged
into at most one other at a time: a partial unique index over the merges not undone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "c2e5f8b3da26"
down_revision = "b1d4e7a2c915"
branch_labels = None
depends_on = None

ACTIVE = sa.text("undone_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "person_merges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kept_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column(
            "moved_act_ids",
            sa.JSON(),
            nullable=False,
            comment="ids of the acts moved to the kept person",
        ),
        sa.Column(
            "moved_consent_ids",
            sa.JSON(),
            nullable=False,
            comment="ids of the consents moved to the kept person",
        ),
        sa.Column("merged_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "merged_by", sa.String(length=254), nullable=False, comment="e-mail or 'cli:<os user>'"
        ),
        sa.Column("merged_by_id", sa.Uuid(), nullable=True),
        sa.Column("undone_at", incidents.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "undone_by", sa.String(length=254), nullable=True, comment="e-mail or 'cli:<os user>'"
        ),
        sa.Column("undone_by_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kept_id <> merged_id", name=op.f("ck_person_merges_two_people")),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["persons.id"], name=op.f("fk_person_merges_kept_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["persons.id"], name=op.f("fk_person_merges_merged_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["merged_by_id"], ["users.id"], name=op.f("fk_person_merges_merged_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"], ["users.id"], name=op.f("fk_person_merges_undone_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_person_merges_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
    )
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_merges_kept_id"), ["kept_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_merges_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            "ix_person_merges_one_active_per_person",
            ["merged_id"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_person_merges_one_active_per_person")
        batch_op.drop_index(batch_op.f("ix_person_merges_team_id"))
        batch_op.drop_index(batch_op.f("ix_person_merges_merged_id"))
        batch_op.drop_index(batch_op.f("ix_person_merges_kept_id"))

    op.drop_table("person_merges")
