"""retention rules, legal holds and the progress of retention runs

Revision ID: 54f4fb1aa58d
Revises: 7c3f2e4a5b6d
Create Date: 2026-12-08 10:00:00

One row per retention rule (a kind of record, optionally one of its secret fields, a
period and the date it runs from) and one per legal hold (a record kept whatever the
rules say; a released hold stays, with who released it and when). A run's progress
needs no table of its own: what a run has shredded has no data key or no ciphertext
left, so a run started again finds only what is still due.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "54f4fb1aa58d"
down_revision = "7c3f2e4a5b6d"
branch_labels = None
depends_on = None

IN_FORCE = sa.text("released_at IS NULL")
WHO = "e-mail or 'cli:<os user>'"


def upgrade() -> None:
    op.create_table(
        "retention_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind", sa.String(length=40), nullable=False, comment="a kind of the record registry"
        ),
        sa.Column(
            "field",
            sa.String(length=63),
            nullable=True,
            comment="a secret field of the kind; NULL: the whole record",
        ),
        sa.Column("period_count", sa.Integer(), nullable=False),
        sa.Column(
            "period_unit",
            sa.Enum(
                "days",
                "months",
                "years",
                name="retention_period_unit",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_date",
            sa.String(length=40),
            nullable=False,
            comment="which date of the record the period runs from",
        ),
        sa.Column("created_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False, comment=WHO),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("period_count > 0", name=op.f("ck_retention_rules_positive_period")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_retention_rules_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_table", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, comment="why; must not identify anyone"),
        sa.Column("held_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("held_by", sa.String(length=254), nullable=False, comment=WHO),
        sa.Column("held_by_id", sa.Uuid(), nullable=True),
        sa.Column("released_at", incidents.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=254), nullable=True, comment=WHO),
        sa.Column("released_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["held_by_id"], ["users.id"], name=op.f("fk_legal_holds_held_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["users.id"], name=op.f("fk_legal_holds_released_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_legal_holds_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_legal_holds_one_in_force_per_record",
            ["reference"],
            unique=True,
            sqlite_where=IN_FORCE,
            postgresql_where=IN_FORCE,
        )
        batch_op.create_index(batch_op.f("ix_legal_holds_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_holds_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_team_id"))
        batch_op.drop_index(batch_op.f("ix_legal_holds_record_id"))
        batch_op.drop_index("ix_legal_holds_one_in_force_per_record")
    op.drop_table("legal_holds")
    op.drop_table("retention_rules")
