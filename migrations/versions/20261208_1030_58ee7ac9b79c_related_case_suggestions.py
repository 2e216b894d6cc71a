"""blind indexes for related-case suggestions and their dismissals

Revision ID: 58ee7ac9b79c
Revises: 06e8447709ff
Create Date: 2026-12-08 10:30:00

The new blind indexes (perpetrators' units and names, incidents' precise places) are
rows of blind_index_entries, which exists already: nothing here decrypts anything, and
records made before this revision get their entries from `incidents keys reindex`. The
one new table holds the suggestions researchers dismissed: a pair of records (the
smaller id first) and a reason code, who and when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "58ee7ac9b79c"
down_revision = "06e8447709ff"
branch_labels = None
depends_on = None

REASONS = ("same_unit", "same_perpetrator_name", "same_place", "same_person_name")


def upgrade() -> None:
    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "record_table", sa.String(length=63), nullable=False, comment="incidents or persons"
        ),
        sa.Column("first_id", sa.Uuid(), nullable=False),
        sa.Column("second_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                *REASONS,
                name="suggestion_reason",
                native_enum=False,
                create_constraint=True,
                length=max(len(reason) for reason in REASONS),
            ),
            nullable=False,
        ),
        sa.Column("dismissed_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "dismissed_by",
            sa.String(length=254),
            nullable=False,
            comment="e-mail or 'cli:<os user>'",
        ),
        sa.Column("dismissed_by_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "first_id < second_id", name=op.f("ck_suggestion_dismissals_ordered_pair")
        ),
        sa.ForeignKeyConstraint(
            ["dismissed_by_id"],
            ["users.id"],
            name=op.f("fk_suggestion_dismissals_dismissed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_suggestion_dismissals_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_dismissals")),
        sa.UniqueConstraint(
            "record_table",
            "first_id",
            "second_id",
            "reason",
            name=op.f("uq_suggestion_dismissals_record_table_first_id_second_id_reason"),
        ),
    )
    with op.batch_alter_table("suggestion_dismissals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suggestion_dismissals_second_id"), ["second_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suggestion_dismissals_team_id"), ["team_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("suggestion_dismissals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestion_dismissals_team_id"))
        batch_op.drop_index(batch_op.f("ix_suggestion_dismissals_second_id"))

    op.drop_table("suggestion_dismissals")
