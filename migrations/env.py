"""Alembic environment: runs on the engine that incidents.migrate passes in."""

from __future__ import annotations

from typing import Any

from alembic import context

import incidents.models  # noqa: F401  (fills Base.metadata)
from incidents.db import Base

config = context.config
engine = config.attributes["engine"]


def _sqlite_foreign_keys(connection: Any, enforced: bool) -> None:
    """Turn SQLite's foreign-key enforcement on or off for this connection. SQLite alters a
    table by copying it and dropping the old one, which enforcement forbids for a table
    others refer to (users, reports) once rows refer to it. The pragma has no effect inside
    a transaction, so it goes straight to the driver, before or after Alembic's."""
    connection.connection.driver_connection.execute(
        f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}"
    )


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, enforced=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,  # SQLite alters by copying
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:  # what enforcement would have refused, refused before committing
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left broken references: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, enforced=True)
