"""erasure reasons as codes, free text sealed

Revision ID: f56c5d55c6d4
Revises: 9e5dbc5d39f6
Create Date: 2026-12-08 10:50:00

A tombstone's reason becomes a code anyone who may see the tombstone may read, and the
eraser's words a note sealed with the tombstone's own data key. A migration holds no key
to seal with, so the free text of existing tombstones is not carried over: they become
"other" with no note. Downgrading writes each code back as the reason's text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f56c5d55c6d4"
down_revision = "9e5dbc5d39f6"
branch_labels = None
depends_on = None

REASONS = ("consent_withdrawn", "retention", "duplicate", "entered_in_error", "safety", "other")
NOTE_COMMENT = "why, in the eraser's words; for researchers"


def upgrade() -> None:
    with op.batch_alter_table("erasures", schema=None) as batch:
        batch.add_column(
            sa.Column(
                "reason_code",
                sa.Enum(
                    *REASONS,
                    name="erasure_reason",
                    native_enum=False,
                    create_constraint=True,
                    length=max(len(r) for r in REASONS),
                ),
                nullable=False,
                server_default="other",
                comment="why, as a code",
            )
        )
        batch.add_column(
            sa.Column("reason_note", sa.LargeBinary(), nullable=True, comment=NOTE_COMMENT)
        )
        batch.drop_column("reason")
        # The note is sealed with the team's id: the tombstone names a team that exists.
        batch.create_foreign_key(op.f("fk_erasures_team_id_teams"), "teams", ["team_id"], ["id"])
    # The default filled the existing rows; every new tombstone names its code itself.
    with op.batch_alter_table("erasures", schema=None) as batch:
        batch.alter_column("reason_code", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("erasures", schema=None) as batch:
        batch.add_column(
            sa.Column(
                "reason",
                sa.Text(),
                nullable=False,
                server_default="",
                comment="why; must not identify anyone",
            )
        )
    op.execute("UPDATE erasures SET reason = replace(reason_code, '_', ' ')")
    # Sealed notes go with their data keys' rows, which name the table.
    op.execute("DELETE FROM data_keys WHERE record_table = 'erasures'")
    with op.batch_alter_table("erasures", schema=None) as batch:
        batch.alter_column("reason", server_default=None)
        batch.drop_constraint("erasure_reason", type_="check")
        batch.drop_constraint(op.f("fk_erasures_team_id_teams"), type_="foreignkey")
        batch.drop_column("reason_note")
        batch.drop_column("reason_code")
