"""duress passwords and locks on accounts

Revision ID: 06e8447709ff
Revises: dff6eddfc040
Create Date: 2026-12-08 10:20:00

A user may set a second, duress password; logging in with it opens a session that shows
no case record (user_sessions.duress) and locks the real password
(users.password_locked_at) until an administrator unlocks the account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "06e8447709ff"
down_revision = "dff6eddfc040"
branch_labels = None
depends_on = None

HASH_COMMENT = "Argon2id PHC string of the duress password (services/duress.py)"
LOCK_COMMENT = "set by a duress login: the password is refused until unlocked"
SESSION_COMMENT = "opened with the duress password: shows no case record"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("duress_password_hash", sa.String(200), nullable=True, comment=HASH_COMMENT)
        )
        batch.add_column(
            sa.Column(
                "password_locked_at",
                incidents.db.UtcDateTime(timezone=True),
                nullable=True,
                comment=LOCK_COMMENT,
            )
        )
    # The server default fills existing rows (none was opened under duress); SQLite keeps
    # it, as for the API tokens' scopes, rather than copy the table to drop it.
    op.add_column(
        "user_sessions",
        sa.Column(
            "duress",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
            comment=SESSION_COMMENT,
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("user_sessions", "duress", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("duress")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_locked_at")
        batch.drop_column("duress_password_hash")
