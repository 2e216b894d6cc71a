"""SQLite's one writer at a time, and how the application lives with it.

In WAL mode SQLite serves any number of readers while one connection writes, but only
one connection may write at a time, and a transaction cannot always wait for its turn:

- A transaction that begins IMMEDIATE takes the write lock at its start, waiting for it
  up to busy_timeout. Commands, POSTs and anything not said otherwise begin so.
- A transaction that begins DEFERRED takes no lock, so it never waits while it reads. If
  it then writes, SQLite cannot make it wait (it would deadlock with the writer, or its
  snapshot is older than the writer's commit): it refuses at once with SQLITE_BUSY or
  SQLITE_BUSY_SNAPSHOT. A GET begins DEFERRED — most pages only read — and a GET
  refused so is run again from the start with IMMEDIATE transactions
  (incidents/web/application.py): pages that decrypt write an audit event, and a
  logged-in page now and then refreshes its session's last_seen_at.
- Slow work that needs no database (Argon2, tens of milliseconds of CPU) runs with the
  write lock let go (`write_lock_released`), so thirty people logging in at once queue
  for the lock for a few milliseconds each rather than for each other's hashing. At
  most one hash per processor runs at a time (incidents/services/passwords.py), so the
  thread that holds the lock is not starved of processor time by the hashing.
- A lock not had within busy_timeout is `database_busy`: the request is answered 503
  "try again", never 500.

PostgreSQL needs none of this: its transactions lock only the rows they write, so none of
these functions do anything there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

DEFERRED = "DEFERRED"
IMMEDIATE = "IMMEDIATE"
# Execution option naming the mode of one connection's transactions (a streamed export
# reads for minutes and takes no lock); it wins over `transactions_begin`.
SQLITE_BEGIN = "sqlite_begin"

_mode: ContextVar[str] = ContextVar("incidents_sqlite_begin", default=IMMEDIATE)
# Per DBAPI connection: its total_changes when the transaction began (so that "has this
# transaction written anything?" needs no query), and the savepoints open in it.
_CHANGES_AT_BEGIN = "incidents_changes_at_begin"
_SAVEPOINTS = "incidents_open_savepoints"
_SAVEPOINT = "SAVEPOINT "
BUSY_RETRY_AFTER_SECONDS = 5  # what a client refused for a busy database is told to wait
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


@contextmanager
def transactions_begin(mode: str) -> Iterator[None]:
    """Transactions begun on SQLite inside the block begin `mode` (DEFERRED or IMMEDIATE)."""
    token = _mode.set(DEFERRED if mode == DEFERRED else IMMEDIATE)
    try:
        yield
    finally:
        _mode.reset(token)


def begin(connection: Connection) -> None:
    """Begin a transaction on SQLite, in the mode asked for (an engine "begin" listener)."""
    mode = connection.get_execution_options().get(SQLITE_BEGIN, _mode.get())
    connection.exec_driver_sql(f"BEGIN {DEFERRED if mode == DEFERRED else IMMEDIATE}")
    connection.info[_CHANGES_AT_BEGIN] = _dbapi(connection).total_changes
    connection.info[_SAVEPOINTS] = []


def note_savepoint(connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    """Note each savepoint opened (a "before_cursor_execute" listener: the "savepoint"
    event fires before SQLAlchemy has named it)."""
    if statement.startswith(_SAVEPOINT):
        name = statement.removeprefix(_SAVEPOINT).strip().strip('"')
        connection.info.setdefault(_SAVEPOINTS, []).append(name)


def savepoint_closed(connection: Connection, name: str, _context: Any = None) -> None:
    """A savepoint released or rolled back to: it and those inside it are gone."""
    names: list[str] = connection.info.get(_SAVEPOINTS, [])
    if name in names:
        del names[names.index(name) :]


def database_busy(error: BaseException) -> bool:
    """Whether `error` is SQLite refusing for another connection's lock (SQLITE_BUSY and
    its extended codes, SQLITE_LOCKED): a moment to wait out, not a bug."""
    original = error.orig if isinstance(error, DBAPIError) else error
    if not isinstance(original, sqlite3.OperationalError):
        return False
    code = getattr(original, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


@contextmanager
def write_lock_released(session: Session) -> Iterator[bool]:
    """Run the block (slow work that needs no database) without holding SQLite's write lock.

    When the session's transaction holds the lock and has written nothing — only read,
    which is how a login or a password check begins — it is ended and a new one begun
    after the block, with the savepoints that were open in it, so the session and any
    `with attempt():` around it carry on unaware. Yields whether it did so: then what was
    read before is from an older snapshot, and the caller reads again what its writes
    depend on. A transaction that has written keeps the lock (its writes must stay one
    unit); PostgreSQL keeps its transaction (it holds no lock for reading).
    """
    connection = _idle_writer(session)
    if connection is None:
        yield False
        return
    savepoints = list(connection.info.get(_SAVEPOINTS, []))
    connection.exec_driver_sql("COMMIT")  # nothing written: this only lets the lock go
    try:
        yield True
    finally:
        connection.exec_driver_sql(f"BEGIN {IMMEDIATE}")
        connection.info[_CHANGES_AT_BEGIN] = _dbapi(connection).total_changes
        connection.info[_SAVEPOINTS] = []  # noted again as they are opened again
        for name in savepoints:
            connection.exec_driver_sql(f"{_SAVEPOINT}{name}")


def _idle_writer(session: Session) -> Connection | None:
    """The SQLite connection of the session's transaction if that transaction has not
    written, else None."""
    if session.get_transaction() is None or session.get_bind().dialect.name != "sqlite":
        return None
    if session.new or session.dirty or session.deleted:
        return None
    connection = session.connection()
    raw = _dbapi(connection)
    if not raw.in_transaction:
        return None
    if connection.info.get(_CHANGES_AT_BEGIN) != raw.total_changes:
        return None
    return connection


def _dbapi(connection: Connection) -> sqlite3.Connection:
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw
