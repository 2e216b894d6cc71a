"""Alembic environment: runs on the engine that incidents.migrate passes in."""

from __future__ import annotations

from alembic import context

import incidents.models  # noqa: F401  (fills Base.metadata)
from incidents.db import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
