"""Evidence stores compared: writing and reading one large file through the folder and
through PostgreSQL, in MiB/s, and the database's figures as a share of the folder's.

    .venv/bin/python -m tests.benchmarks.bench_evidence_store [--mib 64] [--repeat 3]

Needs PostgreSQL at INCIDENTS_TEST_POSTGRES_URL (a throw-away database is made and
dropped). Not a test: the figures depend on the machine and its disk.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

from incidents import migrate
from incidents.extensions import make_engine
from incidents.storage.database_store import DatabaseEvidenceStore
from incidents.storage.store import DirectoryEvidenceStore, EvidenceStore, new_storage_key
from tests.conftest import PostgresDatabase

PIECE_BYTES = 1024 * 1024 + 28  # what the stream encryptor writes: a chunk and its overhead


def _write(store: EvidenceStore, piece: bytes, pieces: int) -> tuple[str, float]:
    key = new_storage_key()
    started = time.perf_counter()
    with store.open_write(key) as writer:
        for _ in range(pieces):
            writer.write(piece)
    return key, time.perf_counter() - started


def _read(store: EvidenceStore, key: str) -> float:
    started = time.perf_counter()
    with store.open_read(key) as handle:
        while handle.read(PIECE_BYTES):
            pass
    return time.perf_counter() - started


def measure(store: EvidenceStore, mib: int, repeat: int) -> tuple[float, float]:
    """The best write and read rates of `repeat` runs, in MiB/s."""
    piece = secrets.token_bytes(PIECE_BYTES)
    pieces = mib
    size_mib = pieces * PIECE_BYTES / (1024 * 1024)
    writes, reads = [], []
    for _ in range(repeat):
        key, took = _write(store, piece, pieces)
        writes.append(size_mib / took)
        reads.append(size_mib / _read(store, key))
        store.delete(key)
    return max(writes), max(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    database = PostgresDatabase("bench_store")
    engine = make_engine(database.url)
    try:
        migrate.upgrade(engine)
        with tempfile.TemporaryDirectory() as folder:
            directory = measure(
                DirectoryEvidenceStore(Path(folder) / "evidence"), options.mib, options.repeat
            )
        in_database = measure(DatabaseEvidenceStore(engine), options.mib, options.repeat)
    finally:
        engine.dispose()
        database.drop()
    print(f"{'store':<10} {'write MiB/s':>12} {'read MiB/s':>12}   ({options.mib} MiB file)")
    for name, (write, read) in (("directory", directory), ("database", in_database)):
        print(f"{name:<10} {write:>12.1f} {read:>12.1f}")
    print(
        f"database / directory: write {in_database[0] / directory[0]:.2f}, "
        f"read {in_database[1] / directory[1]:.2f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
