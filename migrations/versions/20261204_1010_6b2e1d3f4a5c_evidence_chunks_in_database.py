"""evidence stored in the database: stored files as rows of ciphertext chunks

Revision ID: 6b2e1d3f4a5c
Revises: 5a1f0c2d3e4b
Create Date: 2026-12-04 10:10:00

The tables of the database evidence store (setting evidence_store = "database"). They are
created on every installation, and stay empty while the evidence is kept in a folder.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incidents.db

revision = "6b2e1d3f4a5c"
down_revision = "5a1f0c2d3e4b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_blobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "key", sa.String(length=64), nullable=False, comment="the storage key written for"
        ),
        sa.Column(
            "stored_key",
            sa.String(length=64),
            nullable=True,
            comment="the key once its writer closed (then visible); NULL while being written",
        ),
        sa.Column(
            "size_bytes", sa.BigInteger(), nullable=True, comment="ciphertext bytes, once closed"
        ),
        sa.Column("chunk_count", sa.Integer(), nullable=True, comment="chunks, once closed"),
        sa.Column("created_at", incidents.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "modified_at",
            incidents.db.UtcDateTime(timezone=True),
            nullable=False,
            comment="when a chunk was last written",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_blobs")),
        sa.UniqueConstraint("stored_key", name=op.f("uq_evidence_blobs_stored_key")),
    )
    with op.batch_alter_table("evidence_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_blobs_key"), ["key"], unique=False)
    op.create_table(
        "evidence_blob_chunks",
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.LargeBinary(),
            nullable=False,
            comment="ciphertext, as the store was given it",
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["evidence_blobs.id"],
            name=op.f("fk_evidence_blob_chunks_blob_id_evidence_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blob_id", "seq", name=op.f("pk_evidence_blob_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Ciphertext does not compress: kept out of line as it is, without trying.
        op.execute("ALTER TABLE evidence_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    # The files kept here would go with the tables: refused until they are moved out.
    held = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM evidence_blobs WHERE stored_key IS NOT NULL")
    )
    if held:
        raise RuntimeError(
            f"the database holds {held} evidence files: move them to a folder first "
            "(`incidents evidence move --to directory`)"
        )
    op.drop_table("evidence_blob_chunks")
    with op.batch_alter_table("evidence_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_blobs_key"))
    op.drop_table("evidence_blobs")
