"""The evidence store in PostgreSQL: each stored file as rows of ciphertext chunks.

For installations whose application servers share nothing but the database: every server
reads and writes the same evidence, and replication and pg_dump carry it with the records.
The store sees ciphertext only, as the folder does; names are checked the same way.

A write is a pending row (`stored_key` NULL) and its chunks, each committed on its own as
it fills, so memory holds one chunk whatever the size of the file; close() sets
`stored_key` in one last transaction, and only then does the file exist for a reader. A
write that fails or is discarded deletes its row (the chunks go with it); one killed
half-way leaves a pending row, which `entries()` lists as a temporary for the sweep.

The store works through connections of its own, never the caller's transaction, for the
reason a folder does: a file is there once written, whatever becomes of the transaction
that records it, and incidents/storage/lifecycle.py deletes it when that transaction
rolls back, or once the one that erased it commits. Streaming a large file through the
request's transaction instead would keep that transaction, and what it has locked, open
for the whole upload, and the backup, the restore and `evidence move` write and read
files outside any request. Reading checks out a connection per chunk, so a slow download
holds none. PostgreSQL only: on SQLite, which has one writer at a time, the store's own
connection would wait for the request that is writing the record, which waits for it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import uuid
from collections.abc import Iterator
from typing import BinaryIO, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from incidents.db import utcnow
from incidents.errors import ConfigurationError
from incidents.models.evidence_blob import BLOBS_TABLE, EvidenceBlob, EvidenceBlobChunk
from incidents.storage.closing import KeptOnSuccess
from incidents.storage.store import (
    TEMPORARY_SUFFIX,
    EvidenceWriter,
    InvalidStorageKey,
    StoredEntry,
    StoredFileMissing,
    check_storage_key,
)

log = logging.getLogger(__name__)

BLOB_CHUNK_BYTES = 1024 * 1024  # one row's share of a file; also what a write buffers
_BLOBS = cast(Table, EvidenceBlob.__table__)
_CHUNKS = cast(Table, EvidenceBlobChunk.__table__)
# Chunks go to and from the driver in binary, as they are: as text, each would travel as
# hex, twice its size, to be encoded and decoded (reads four times slower).
_CHUNK_INSERT = "INSERT INTO evidence_blob_chunks (blob_id, seq, data) VALUES (%s, %s, %b)"
_TOUCH = "UPDATE evidence_blobs SET modified_at = %s WHERE id = %s"
_CHUNK_QUERY = "SELECT data FROM evidence_blob_chunks WHERE blob_id = %s AND seq = %s"


def _temporary_name(key: str, blob_id: uuid.UUID) -> str:
    return f".{key}.{blob_id.hex}{TEMPORARY_SUFFIX}"


def _blob_of_temporary(entry: StoredEntry) -> uuid.UUID:
    """The pending row a temporary's name stands for; InvalidStorageKey for any other name."""
    prefix = f".{check_storage_key(entry.key)}."
    middle = entry.name.removeprefix(prefix).removesuffix(TEMPORARY_SUFFIX)
    if not entry.name.startswith(prefix) or len(middle) != 32:
        raise InvalidStorageKey("not a file of the evidence store")
    try:
        return uuid.UUID(hex=middle)
    except ValueError:
        raise InvalidStorageKey("not a file of the evidence store") from None


class _PendingBlob(KeptOnSuccess):
    """A file being written: a pending row, its chunks committed as they fill."""

    def __init__(self, engine: Engine, key: str) -> None:
        self._engine = engine
        self._key = key
        self._id = uuid.uuid4()
        self._buffer = bytearray()
        self._seq = 0
        self._size = 0
        self._done = False
        now = utcnow()
        with engine.begin() as connection:
            connection.execute(
                insert(_BLOBS).values(id=self._id, key=key, created_at=now, modified_at=now)
            )

    def write(self, data: bytes, /) -> int:
        if self._done:
            raise ValueError("the stored file is closed")
        self._buffer += data
        while len(self._buffer) >= BLOB_CHUNK_BYTES:
            self._flush(bytes(self._buffer[:BLOB_CHUNK_BYTES]))
            del self._buffer[:BLOB_CHUNK_BYTES]
        return len(data)

    def _flush(self, data: bytes) -> None:
        with self._engine.begin() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor:
                # Only the final commit needs to wait for the disk: it comes later in the
                # same log, so once it is durable, so is every chunk before it.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                cursor.execute(_CHUNK_INSERT, (self._id, self._seq, data))
                cursor.execute(_TOUCH, (utcnow(), self._id))
        self._seq += 1
        self._size += len(data)

    def close(self) -> None:
        """Make the file visible under its key, or remove what was written and raise."""
        if self._done:
            return
        self._done = True
        try:
            if self._buffer:
                self._flush(bytes(self._buffer))
                self._buffer.clear()
            with self._engine.begin() as connection:
                connection.execute(
                    update(_BLOBS)
                    .where(_BLOBS.c.id == self._id)
                    .values(
                        stored_key=self._key,
                        size_bytes=self._size,
                        chunk_count=self._seq,
                        modified_at=utcnow(),
                    )
                )
        except IntegrityError:  # names are random: only a bug could get here
            self._remove()
            raise FileExistsError(f"the evidence store already holds {self._key}") from None
        except BaseException:
            self._remove()
            raise

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        self._remove()

    def _remove(self) -> None:
        self._buffer.clear()
        # Raised from a failed write, this must not hide that failure: a row left behind
        # is a temporary nobody reads, and the sweep removes it.
        try:
            with self._engine.begin() as connection:
                connection.execute(delete(_BLOBS).where(_BLOBS.c.id == self._id))
        except SQLAlchemyError as exc:
            log.warning(
                "could not remove an unfinished stored file %s…: %s",
                self._key[:12],
                type(exc).__name__,
            )


class _BlobReader(io.BufferedIOBase):
    """A stored file read back chunk by chunk; `read(n)` returns n bytes until the end."""

    def __init__(self, engine: Engine, key: str, blob_id: uuid.UUID, chunks: int, size: int):
        super().__init__()
        self._engine = engine
        self._key = key
        self._id = blob_id
        self._chunks = chunks
        self.stored_size = size
        self._next = 0
        self._buffer = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _fetch(self) -> bool:
        if self._next >= self._chunks:
            return False
        with self._engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            with driver.cursor(binary=True) as cursor:
                row = cursor.execute(_CHUNK_QUERY, (self._id, self._next)).fetchone()
        data = row[0] if row is not None else None
        if data is None:
            raise StoredFileMissing(
                f"the stored file {self._key[:12]}… was deleted while it was being read"
            )
        self._buffer, self._offset = bytes(data), 0
        self._next += 1
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if self.closed:
            raise ValueError("read of a closed stored file")
        wanted = None if size is None or size < 0 else size
        parts: list[bytes] = []
        while wanted is None or wanted > 0:
            if self._offset >= len(self._buffer) and not self._fetch():
                break
            end = len(self._buffer) if wanted is None else self._offset + wanted
            piece = self._buffer[self._offset : end]
            self._offset += len(piece)
            parts.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(parts)

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size)

    def close(self) -> None:
        self._buffer = b""
        super().close()


class DatabaseEvidenceStore:
    """Stored files as rows of `evidence_blobs` and `evidence_blob_chunks` (PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ConfigurationError(
                'evidence_store = "database" needs PostgreSQL (SQLite writes one thing at a '
                'time); keep evidence_store = "directory" on SQLite'
            )
        self.engine = engine

    def installed(self) -> bool:
        """Whether the database has the store's tables (migrations made them)."""
        return inspect(self.engine).has_table(BLOBS_TABLE)

    def open_write(self, key: str) -> EvidenceWriter:
        check_storage_key(key)
        if self.exists(key):
            raise FileExistsError(f"the evidence store already holds {key}")
        return _PendingBlob(self.engine, key)

    def open_read(self, key: str) -> BinaryIO:
        check_storage_key(key)
        with self.engine.connect() as connection:
            found = connection.execute(
                select(_BLOBS.c.id, _BLOBS.c.chunk_count, _BLOBS.c.size_bytes).where(
                    _BLOBS.c.stored_key == key
                )
            ).first()
        if found is None:
            raise StoredFileMissing(
                f"the evidence store has no file {key[:12]}… (restore it from a backup)"
            )
        blob_id, chunks, size = found
        return cast(BinaryIO, _BlobReader(self.engine, key, blob_id, chunks or 0, size or 0))

    def delete(self, key: str) -> bool:
        """Remove the file (its chunks with it); False when there was none."""
        check_storage_key(key)
        with self.engine.begin() as connection:
            removed = connection.execute(delete(_BLOBS).where(_BLOBS.c.stored_key == key))
        return bool(removed.rowcount)

    def exists(self, key: str) -> bool:
        check_storage_key(key)
        with self.engine.connect() as connection:
            found = connection.scalar(select(_BLOBS.c.id).where(_BLOBS.c.stored_key == key))
        return found is not None

    def entries(self) -> Iterator[StoredEntry]:
        """Every file: complete ones, and the pending rows of unfinished writes, with when
        each was last written."""
        statement = select(
            _BLOBS.c.id, _BLOBS.c.key, _BLOBS.c.stored_key, _BLOBS.c.modified_at
        ).order_by(_BLOBS.c.key, _BLOBS.c.id)
        with self._streamed() as connection:
            for blob_id, key, stored_key, modified in connection.execute(statement):
                if stored_key is not None:
                    yield StoredEntry(stored_key, stored_key, modified, temporary=False)
                else:
                    yield StoredEntry(_temporary_name(key, blob_id), key, modified, temporary=True)

    def remove_entry(self, entry: StoredEntry) -> bool:
        """Remove a file `entries` listed; False when it was gone already."""
        if not entry.temporary:
            if entry.name != entry.key:
                raise InvalidStorageKey("not a file of the evidence store")
            return self.delete(entry.key)
        blob_id = _blob_of_temporary(entry)
        with self.engine.begin() as connection:
            removed = connection.execute(
                delete(_BLOBS).where(_BLOBS.c.id == blob_id, _BLOBS.c.stored_key.is_(None))
            )
        return bool(removed.rowcount)

    def keys(self) -> Iterator[str]:
        """The names of the complete files held (not those still being written)."""
        statement = (
            select(_BLOBS.c.stored_key)
            .where(_BLOBS.c.stored_key.is_not(None))
            .order_by(_BLOBS.c.stored_key)
        )
        with self._streamed() as connection:
            for (key,) in connection.execute(statement):
                yield key

    def check_writable(self) -> None:
        """Raise (SQLAlchemyError) unless the store can take a write; leaves nothing."""
        now = utcnow()
        with self.engine.connect() as connection:
            transaction = connection.begin()
            connection.execute(insert(_BLOBS).values(key="0" * 64, created_at=now, modified_at=now))
            transaction.rollback()

    @contextlib.contextmanager
    def _streamed(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection.execution_options(stream_results=True, yield_per=1000)
