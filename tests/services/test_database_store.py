"""The evidence store's contract, for the folder and for PostgreSQL alike: a file is visible
only once its writer closes, a discarded or failed write leaves nothing visible, reads
stream in bounded memory, and the sweep's listing sees unfinished writes as temporaries."""

from __future__ import annotations

import hashlib
import os
import secrets
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, update

from incidents import migrate
from incidents.errors import ConfigurationError
from incidents.extensions import make_engine
from incidents.models.evidence_blob import EvidenceBlob, EvidenceBlobChunk
from incidents.storage.database_store import BLOB_CHUNK_BYTES, DatabaseEvidenceStore
from incidents.storage.store import (
    DirectoryEvidenceStore,
    InvalidStorageKey,
    ListingEvidenceStore,
    StoredEntry,
    StoredFileMissing,
    new_storage_key,
    stored_size,
)
from tests.benchmarks import bench_evidence_store
from tests.conftest import PostgresDatabase, skip_without_postgres

KINDS = ["directory", pytest.param("database", marks=pytest.mark.postgres)]
LARGE_BYTES = 24 * 1024 * 1024
# A write or a read holds about one chunk of the store and one piece of the caller's.
BOUNDED_BYTES = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    """An engine on a PostgreSQL database migrated to head, for this module's stores."""
    skip_without_postgres()
    database = PostgresDatabase("store")
    engine = make_engine(database.url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        database.drop()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ListingEvidenceStore]:
    if request.param == "directory":
        yield DirectoryEvidenceStore(tmp_path / "evidence")
        return
    engine: Engine = request.getfixturevalue("postgres_engine")
    yield DatabaseEvidenceStore(engine)
    with engine.begin() as connection:  # what a test left: each test starts empty
        connection.execute(EvidenceBlob.__table__.delete())


def _read_all(store: ListingEvidenceStore, key: str) -> bytes:
    with store.open_read(key) as handle:
        return handle.read()


def test_a_file_written_is_read_back_exactly_and_reports_its_size(
    store: ListingEvidenceStore,
) -> None:
    key = new_storage_key()
    content = secrets.token_bytes(BLOB_CHUNK_BYTES * 2 + 12345)  # three database chunks
    with store.open_write(key) as writer:
        for start in range(0, len(content), 100_000):
            writer.write(content[start : start + 100_000])
    assert store.exists(key)
    assert _read_all(store, key) == content
    with store.open_read(key) as handle:
        assert stored_size(handle) == len(content)
        assert handle.read(10) == content[:10]  # short reads are whole until the end
        assert handle.read(BLOB_CHUNK_BYTES) == content[10 : 10 + BLOB_CHUNK_BYTES]
    assert list(store.keys()) == [key]


def test_an_empty_file_is_a_file(store: ListingEvidenceStore) -> None:
    key = new_storage_key()
    with store.open_write(key):
        pass
    assert store.exists(key) and _read_all(store, key) == b""


def test_a_file_is_visible_only_once_its_writer_closes(store: ListingEvidenceStore) -> None:
    key = new_storage_key()
    writer = store.open_write(key)
    writer.write(secrets.token_bytes(BLOB_CHUNK_BYTES + 10))  # a chunk already written out
    assert not store.exists(key)
    with pytest.raises(StoredFileMissing):
        store.open_read(key)
    assert list(store.keys()) == []
    (pending,) = store.entries()
    assert pending.temporary and pending.key == key and pending.name != key
    writer.close()
    assert store.exists(key)
    (entry,) = store.entries()
    assert (entry.name, entry.key, entry.temporary) == (key, key, False)


def test_a_discarded_or_failed_write_leaves_nothing(store: ListingEvidenceStore) -> None:
    key = new_storage_key()
    writer = store.open_write(key)
    writer.write(secrets.token_bytes(BLOB_CHUNK_BYTES * 2))
    writer.discard()
    with pytest.raises(RuntimeError), store.open_write(key) as failing:
        failing.write(secrets.token_bytes(BLOB_CHUNK_BYTES + 1))
        raise RuntimeError("the upload was refused half-way")
    assert not store.exists(key)
    assert list(store.entries()) == []
    if isinstance(store, DatabaseEvidenceStore):  # the chunks went with their rows
        with store.engine.connect() as connection:
            chunks = select(func.count()).select_from(EvidenceBlobChunk)
            assert connection.scalar(chunks) == 0


def test_delete_removes_a_file_once(store: ListingEvidenceStore) -> None:
    key = new_storage_key()
    with store.open_write(key) as writer:
        writer.write(b"ciphertext")
    with pytest.raises(FileExistsError):
        store.open_write(key)
    assert store.delete(key) is True
    assert store.delete(key) is False
    assert not store.exists(key)
    with pytest.raises(StoredFileMissing):
        store.open_read(key)


def test_entries_are_removed_one_by_one(store: ListingEvidenceStore) -> None:
    complete, unfinished = new_storage_key(), new_storage_key()
    with store.open_write(complete) as writer:
        writer.write(b"whole")
    writer = store.open_write(unfinished)
    writer.write(b"half")
    by_key = {entry.key: entry for entry in store.entries()}
    assert by_key[complete].temporary is False and by_key[unfinished].temporary is True
    assert store.remove_entry(by_key[unfinished]) is True
    assert store.remove_entry(by_key[unfinished]) is False
    assert [entry.key for entry in store.entries()] == [complete]
    assert store.remove_entry(by_key[complete]) is True
    assert list(store.entries()) == []
    forged = StoredEntry("../../etc/passwd", complete, by_key[complete].modified, False)
    with pytest.raises(InvalidStorageKey):
        store.remove_entry(forged)
    writer.discard()


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "a" * 63, ""])
def test_anything_but_a_store_key_is_refused(store: ListingEvidenceStore, key: str) -> None:
    for operation in (store.open_write, store.open_read, store.delete, store.exists):
        with pytest.raises(InvalidStorageKey):
            operation(key)


def test_a_large_file_is_written_and_read_in_bounded_memory(
    store: ListingEvidenceStore,
) -> None:
    key = new_storage_key()
    piece = secrets.token_bytes(64 * 1024)
    expected = hashlib.sha256()
    tracemalloc.start()
    try:
        with store.open_write(key) as writer:
            for _ in range(LARGE_BYTES // len(piece)):
                writer.write(piece)
                expected.update(piece)
        _, written_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        actual = hashlib.sha256()
        with store.open_read(key) as handle:
            while data := handle.read(1024 * 1024 + 28):
                actual.update(data)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert actual.hexdigest() == expected.hexdigest()
    assert written_peak < BOUNDED_BYTES, f"writing held {written_peak} bytes"
    assert read_peak < BOUNDED_BYTES, f"reading held {read_peak} bytes"


# -- the database store alone ------------------------------------------------------------


@pytest.mark.postgres
def test_a_pending_write_shows_when_it_was_last_written(postgres_engine: Engine) -> None:
    store = DatabaseEvidenceStore(postgres_engine)
    key = new_storage_key()
    writer = store.open_write(key)
    with postgres_engine.begin() as connection:  # as if it had stalled an hour ago
        connection.execute(
            update(EvidenceBlob).values(modified_at=func.now() - func.make_interval(0, 0, 0, 0, 1))
        )
    (stalled,) = store.entries()
    writer.write(secrets.token_bytes(BLOB_CHUNK_BYTES))  # a chunk: it is alive after all
    (alive,) = store.entries()
    assert alive.modified > stalled.modified
    writer.discard()
    assert list(store.entries()) == []


def test_the_database_store_refuses_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'incidents.db'}")
    try:
        with pytest.raises(ConfigurationError, match="needs PostgreSQL"):
            DatabaseEvidenceStore(engine)
    finally:
        engine.dispose()


def test_the_directory_store_still_sizes_its_files_by_descriptor(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path / "evidence")
    key = new_storage_key()
    with store.open_write(key) as writer:
        writer.write(b"x" * 1000)
    with store.open_read(key) as handle:
        assert stored_size(handle) == os.fstat(handle.fileno()).st_size == 1000


def test_the_store_benchmark_runs_on_each_store(store: ListingEvidenceStore) -> None:
    write, read = bench_evidence_store.measure(store, mib=2, repeat=1)
    assert write > 0 and read > 0
    assert list(store.entries()) == []  # it cleans up after itself
