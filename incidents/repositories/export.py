"""Streaming reads for exports: rows in batches, columns only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Column, Table, func, select
from sqlalchemy.orm import Session, lazyload


def stream_records(session: Session, model: type[Any], batch: int) -> Iterator[Any]:
    """Every record of `model` in primary-key order, `batch` at a time, no relationship loaded."""
    statement = (
        select(model)
        .options(lazyload("*"))
        .order_by(*model.__table__.primary_key.columns)
        .execution_options(yield_per=batch)
    )
    yield from session.scalars(statement)


def stream_rows(session: Session, columns: Sequence[Column[Any]]) -> Iterator[Sequence[Any]]:
    """Rows of the given columns of one table, in column order."""
    yield from session.execute(select(*columns).order_by(*columns))


def count_rows(session: Session, tables: Sequence[Table]) -> int:
    return sum(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)
