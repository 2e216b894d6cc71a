"""Queries on wrapped data keys."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from incidents.models.keys import DataKey


def data_key_for(session: Session, table: str, record_id: uuid.UUID) -> DataKey | None:
    return session.scalars(
        select(DataKey).where(DataKey.record_table == table, DataKey.record_id == record_id)
    ).one_or_none()


def data_keys_for_many(
    session: Session, records: Iterable[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], DataKey]:
    """The data keys of these (table, record id) pairs in one query, by pair; a record
    without a key (never sealed, or erased) is absent."""
    ids_by_table: dict[str, set[uuid.UUID]] = defaultdict(set)
    for table, record_id in records:
        ids_by_table[table].add(record_id)
    if not ids_by_table:
        return {}
    wanted = or_(
        *(
            and_(DataKey.record_table == table, DataKey.record_id.in_(sorted(ids)))
            for table, ids in sorted(ids_by_table.items())
        )
    )
    return {
        (key.record_table, key.record_id): key
        for key in session.scalars(select(DataKey).where(wanted))
    }


def count_by_master_key(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)
    )
    return {key_id: count for key_id, count in rows}


def count_not_wrapped_by(session: Session, key_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.master_key_id != key_id)
        )
        or 0
    )


def batch_not_wrapped_by(
    session: Session, key_id: str, after: uuid.UUID | None, limit: int
) -> Sequence[Row[uuid.UUID, str, uuid.UUID, uuid.UUID, str, bytes]]:
    """Up to `limit` data keys after id `after` wrapped by any key but `key_id`.

    Keyset paging by id: each batch starts where the last ended instead of re-reading
    the keys already done, so a rotation costs O(n), not O(n²).
    """
    statement = select(
        DataKey.id,
        DataKey.record_table,
        DataKey.record_id,
        DataKey.team_id,
        DataKey.master_key_id,
        DataKey.wrapped_key,
    ).where(DataKey.master_key_id != key_id)
    if after is not None:
        statement = statement.where(DataKey.id > after)
    return session.execute(statement.order_by(DataKey.id).limit(limit)).all()


_DATA_KEYS = cast(Table, DataKey.__table__)
_REWRAP = (
    update(_DATA_KEYS)
    .where(_DATA_KEYS.c.id == bindparam("key_row"))
    .values(
        master_key_id=bindparam("new_master_key_id"),
        wrapped_key=bindparam("new_wrapped_key"),
        rewrapped_at=bindparam("at"),
    )
)


def update_wrapped_keys(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE; each dict has key_row (the id), new_master_key_id,
    new_wrapped_key and at. Core, not the ORM: no per-row bookkeeping for a bulk job."""
    if rows:
        session.execute(_REWRAP, rows)
