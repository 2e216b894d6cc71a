"""A consistent, read-only view of the whole database while the application runs.

PostgreSQL: one REPEATABLE READ, READ ONLY transaction, the snapshot pg_dump reads from;
writers carry on and nothing they commit afterwards is seen. SQLite: the sqlite3 backup
API copies the database page by page (it restarts if a writer gets in) into a file of
the instance folder readable by its owner only; the copy is read, then deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine

from incidents.services.backup.archive import BackupError

SNAPSHOT_PREFIX = ".backup-snapshot-"
ABANDONED_AFTER_SECONDS = 60


@contextlib.contextmanager
def database_snapshot(engine: Engine, scratch: Path) -> Iterator[Connection]:
    """A connection that sees one moment of the database, for as long as the block runs."""
    if engine.dialect.name == "postgresql":
        with _postgres_snapshot(engine) as connection:
            yield connection
    elif engine.dialect.name == "sqlite":
        with _sqlite_snapshot(engine, scratch) as connection:
            yield connection
    else:
        raise BackupError(f"backups of {engine.dialect.name} databases are not supported")


@contextlib.contextmanager
def _postgres_snapshot(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as base:
        connection = base.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with connection.begin():
            yield connection


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


@contextlib.contextmanager
def _sqlite_snapshot(engine: Engine, scratch: Path) -> Iterator[Connection]:
    source_path = _sqlite_path(engine)
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    _remove_abandoned_copies(scratch)
    copy_path = scratch / f"{SNAPSHOT_PREFIX}{secrets.token_hex(8)}.db"
    claim = os.open(copy_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(claim, fcntl.LOCK_EX)  # ours while this backup runs
        _copy(source_path, copy_path)
        copy = create_engine(f"sqlite:///{copy_path}")
        try:
            with copy.connect() as connection, connection.begin():
                yield connection
        finally:
            copy.dispose()
    finally:
        _delete_copy(copy_path)
        os.close(claim)


def _delete_copy(copy_path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{copy_path}{suffix}").unlink(missing_ok=True)


def _remove_abandoned_copies(scratch: Path) -> None:
    """Delete the copies of backups that were killed: nobody holds their lock any more.

    A running backup holds an exclusive lock on its copy, so a second backup started
    meanwhile leaves that one alone.
    """
    for path in scratch.glob(f"{SNAPSHOT_PREFIX}*.db"):
        try:
            if time.time() - path.stat().st_mtime < ABANDONED_AFTER_SECONDS:
                continue  # perhaps just made, its lock not yet taken
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        finally:
            os.close(descriptor)  # closing releases the lock we may have taken
        _delete_copy(path)


def _copy(source_path: Path, copy_path: Path) -> None:
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(copy_path)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite database cannot be copied: {exc}") from None
    finally:
        target.close()
        source.close()
