"""Queries on wrapped data keys."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast

from sqlalchemy import Row, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from incidents.models.keys import DataKey

_DATA_KEYS = cast(Table, DataKey.__table__)


def data_key_for(session: Session, table: str, record_id: uuid.UUID) -> DataKey | None:
    return session.scalars(
        select(DataKey).where(DataKey.record_table == table, DataKey.record_id == record_id)
    ).one_or_none()


class StoredKey(Protocol):
    """What opening a record needs of its data key row."""

    master_key_id: str
    wrapped_key: bytes


def _autoflush(session: Session) -> None:
    """Flush as the ORM would before its own queries (unless in `no_autoflush`): a Core
    query is not preceded by one, and keys added but not yet written must be found."""
    if session.autoflush:
        session.flush()


def data_keys_for_many(
    session: Session, records: Iterable[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], StoredKey]:
    """The data keys of these (table, record id) pairs in one query, by pair; a record
    without a key (never sealed, or erased) is absent. Rows, not mapped objects: a page
    of thousands of records opens without making thousands of objects."""
    ids_by_table: dict[str, set[uuid.UUID]] = defaultdict(set)
    for table, record_id in records:
        ids_by_table[table].add(record_id)
    if not ids_by_table:
        return {}
    keys = _DATA_KEYS.c
    wanted = or_(
        *(
            and_(keys.record_table == table, keys.record_id.in_(sorted(ids)))
            for table, ids in sorted(ids_by_table.items())
        )
    )
    _autoflush(session)
    statement = select(keys.record_table, keys.record_id, keys.master_key_id, keys.wrapped_key)
    return {
        (key.record_table, key.record_id): key for key in session.execute(statement.where(wanted))
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
    # The table's columns, not the mapped class's: a Core query, whose rows skip the
    # ORM's loading (a third of the time of a batch of thousands).
    keys = _DATA_KEYS.c
    statement = select(
        keys.id,
        keys.record_table,
        keys.record_id,
        keys.team_id,
        keys.master_key_id,
        keys.wrapped_key,
    ).where(keys.master_key_id != key_id)
    if after is not None:
        statement = statement.where(keys.id > after)
    _autoflush(session)
    return session.execute(statement.order_by(keys.id).limit(limit)).all()


# The time of the re-wrap is the database's clock at the statement, the same for every
# row of a batch: one SQL expression rather than a timestamp converted for each row.
_REWRAP = (
    update(_DATA_KEYS)
    .where(_DATA_KEYS.c.id == bindparam("key_row"))
    .values(
        master_key_id=bindparam("new_master_key_id"),
        wrapped_key=bindparam("new_wrapped_key"),
        rewrapped_at=func.current_timestamp(),
    )
)


def update_wrapped_keys(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE; each dict has key_row (the id), new_master_key_id and
    new_wrapped_key. Core, not the ORM: no per-row bookkeeping for a bulk job."""
    if rows:
        session.execute(_REWRAP, rows)
