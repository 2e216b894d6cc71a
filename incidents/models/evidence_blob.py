"""The database evidence store's tables: stored files as rows of ciphertext chunks.

Used when the setting `evidence_store` is "database" (incidents/storage/database_store.py),
so that several application servers share the evidence through PostgreSQL alone, and
replication and pg_dump carry it with the records. The rows hold exactly the bytes a
folder's file would: the chunked AES-GCM stream of incidents/crypto/stream.py, never
plaintext. Nothing references them by foreign key: an evidence row names its file by
storage key, as it names a file in a folder.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, system, uuid_pk

BLOBS_TABLE = "evidence_blobs"
CHUNKS_TABLE = "evidence_blob_chunks"
# Their files travel in a backup as evidence members, through the store, like a folder's.
STORE_TABLES = frozenset({BLOBS_TABLE, CHUNKS_TABLE})


class EvidenceBlob(Base):
    """One write of a stored file: a temporary until its writer closes, then the file."""

    __tablename__ = BLOBS_TABLE

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = system(String(64), index=True, comment="the storage key written for")
    stored_key: Mapped[str | None] = system(
        String(64),
        unique=True,
        comment="the key once its writer closed (then visible); NULL while being written",
    )
    size_bytes: Mapped[int | None] = system(BigInteger, comment="ciphertext bytes, once closed")
    chunk_count: Mapped[int | None] = system(Integer, comment="chunks, once closed")
    created_at: Mapped[datetime] = system(UtcDateTime)
    modified_at: Mapped[datetime] = system(UtcDateTime, comment="when a chunk was last written")


class EvidenceBlobChunk(Base):
    """A piece of a stored file's ciphertext, in order (`seq` from 0)."""

    __tablename__ = CHUNKS_TABLE

    blob_id: Mapped[uuid.UUID] = system(
        ForeignKey(f"{BLOBS_TABLE}.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = system(Integer, primary_key=True)
    data: Mapped[bytes] = system(LargeBinary, comment="ciphertext, as the store was given it")
