"""erasure review queue for withdrawn consent to keep a record

Revision ID: dff6eddfc040
Revises: 54f4fb1aa58d
Create Date: 2026-12-08 10:10:00

`erasure_reviews`: one row per record whose consent to be kept in the database was
withdrawn — which record, from which consent, raised by whom and when, pending until a
researcher erases or keeps it (with a sealed note). One pending review per record: a
partial unique index over the pending rows.

`report_disclosures`: one row per report a redacted summary counted, shown or exported,
with the consent use it relied on, so that a later withdrawal can name what already went
out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "dff6eddfc040"
down_revision = "54f4fb1aa58d"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")
CONSENT_USES = (
    "keep_in_database",
    "anonymised_advocacy",
    "publication_without_name",
    "publication_with_name",
    "sharing_with_named_partners",
    "transfer_to_un_or_courts",
)


def upgrade() -> None:
    op.create_table(
        "erasure_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_table", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.String(length=32),
            nullable=False,
            comment="the record's kind: person, source, report",
        ),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("raised_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "raised_by", sa.String(length=254), nullable=False, comment="e-mail or 'cli:<os user>'"
        ),
        sa.Column("raised_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "erased",
                "kept",
                name="erasure_review_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("decided_at", incidents.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_by", sa.String(length=254), nullable=True, comment="e-mail or 'cli:<os user>'"
        ),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "decision_note",
            sa.LargeBinary(),
            nullable=True,
            comment="why erased or kept, in the decider's words",
        ),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_erasure_reviews_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["users.id"], name=op.f("fk_erasure_reviews_raised_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_erasure_reviews_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_erasure_reviews_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_reviews")),
    )
    with op.batch_alter_table("erasure_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_reviews_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_erasure_reviews_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_erasure_reviews_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            "ix_erasure_reviews_one_pending_per_record",
            ["record_table", "record_id"],
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )

    op.create_table(
        "report_disclosures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False, comment="one summary or export"),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column(
            "use",
            sa.Enum(*CONSENT_USES, name="consent_use", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("profile", sa.String(length=16), nullable=False, comment="partner or public"),
        sa.Column(
            "format", sa.String(length=8), nullable=False, comment="html (a page), json or csv"
        ),
        sa.Column("disclosed_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "disclosed_by",
            sa.String(length=254),
            nullable=False,
            comment="e-mail or 'cli:<os user>'",
        ),
        sa.Column("disclosed_by_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_disclosures_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["disclosed_by_id"],
            ["users.id"],
            name=op.f("fk_report_disclosures_disclosed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_report_disclosures_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_disclosures")),
    )
    with op.batch_alter_table("report_disclosures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_disclosures_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_disclosures_report_id"), ["report_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_disclosures_team_id"), ["team_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_disclosures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_disclosures_team_id"))
        batch_op.drop_index(batch_op.f("ix_report_disclosures_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_disclosures_batch_id"))
    op.drop_table("report_disclosures")

    with op.batch_alter_table("erasure_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_erasure_reviews_one_pending_per_record")
        batch_op.drop_index(batch_op.f("ix_erasure_reviews_team_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_reviews_record_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_reviews_consent_id"))
    op.drop_table("erasure_reviews")
