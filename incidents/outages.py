"""What counts as the database gone or the disk full, for every boundary to answer alike.

Either is an outage, not a bug: the web answers 503 with what was typed, the API a 503
problem with Retry-After, a command one line. Nothing the application already committed
is touched by either; what the failed request or command was doing is rolled back.
"""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError

RETRY_AFTER_SECONDS = 30  # what a client is told to wait before sending again
DISK_FULL = (
    "not enough disk space to write to (or the disk refuses writes); nothing was saved: "
    "free some space, then run it again"
)

# PostgreSQL SQLSTATEs that mean the server went away or will not take connections:
# class 08 (connection exception) and the shutdown states of class 57.
_GONE_STATES = ("57P01", "57P02", "57P03")


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (down, restarting, network cut,
    the connection killed), as opposed to refusing a statement.

    A lost connection is one SQLAlchemy has invalidated; a failed connect has no SQLSTATE
    (the driver never reached a server) or a connection-class one. A timeout, a lock
    wait, a busy SQLite file or a constraint is none of these.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    module = type(original).__module__ if original is not None else ""
    if not module.startswith("psycopg"):
        return False
    state = getattr(original, "sqlstate", None)
    if state is None:
        return type(original).__name__ == "OperationalError"
    return str(state).startswith("08") or state in _GONE_STATES


# SQLite says SQLITE_FULL when the disk has no room; a write refused outright (over a
# quota or a file-size limit: EFBIG) reaches it as an I/O error of the write itself.
_SQLITE_NO_ROOM = ("SQLITE_FULL", "SQLITE_IOERR_WRITE")
_POSTGRES_DISK_FULL = "53100"


def disk_full(error: BaseException) -> bool:
    """Whether `error` is a write refused for lack of space (or over a quota or file-size
    limit, which looks the same to whoever is writing): from the OS, SQLite or PostgreSQL."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    if isinstance(error, DBAPIError) and error.orig is not None:
        original = error.orig
        if getattr(original, "sqlite_errorname", None) in _SQLITE_NO_ROOM:
            return True
        return getattr(original, "sqlstate", None) == _POSTGRES_DISK_FULL
    return False
