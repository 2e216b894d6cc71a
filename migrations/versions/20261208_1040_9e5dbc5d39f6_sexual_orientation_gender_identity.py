"""a person's sexual orientation and gender identity, as they self-identify

Revision ID: 9e5dbc5d39f6
Revises: 58ee7ac9b79c
Create Date: 2026-12-08 10:40:00

Two secret columns of a person, sealed like the name: empty (not recorded) for everyone
recorded before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9e5dbc5d39f6"
down_revision = "58ee7ac9b79c"
branch_labels = None
depends_on = None

COLUMNS = ("sexual_orientation", "gender_identity")
COMMENT = "as they self-identify, encrypted"


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.LargeBinary(), nullable=True, comment=COMMENT))


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
