"""Queries on blind-index entries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, false, func, intersect, or_, select
from sqlalchemy.orm import Session

from incidents.crypto.blind_index import Lookup
from incidents.models.blind_index import BlindIndexEntry
from incidents.models.erasure import Erasure


@dataclass(frozen=True)
class EntryHit:
    """One entry that matched a lookup: which record, in which index, under which key."""

    record_id: uuid.UUID
    index_name: str
    master_key_id: str
    value: bytes


def add_entries(session: Session, entries: Iterable[BlindIndexEntry]) -> None:
    session.add_all(list(entries))


def delete_entries(session: Session, table: str, record_ids: Collection[uuid.UUID]) -> int:
    """Delete every entry of the given records of `table`."""
    if not record_ids:
        return 0
    result = session.execute(
        delete(BlindIndexEntry).where(
            BlindIndexEntry.record_table == table, BlindIndexEntry.record_id.in_(record_ids)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def entries_of(session: Session, table: str, record_id: uuid.UUID) -> Sequence[BlindIndexEntry]:
    return session.scalars(
        select(BlindIndexEntry)
        .where(BlindIndexEntry.record_table == table, BlindIndexEntry.record_id == record_id)
        .order_by(BlindIndexEntry.index_name, BlindIndexEntry.value)
    ).all()


def count_by_master_key(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(BlindIndexEntry.master_key_id, func.count()).group_by(BlindIndexEntry.master_key_id)
    )
    return {key_id: count for key_id, count in rows}


def find(
    session: Session, table: str, team_ids: Collection[uuid.UUID], lookups: Iterable[Lookup]
) -> list[EntryHit]:
    """Entries of records of `table` in `team_ids` matching any lookup under its key.

    Records with a tombstone are left out, should an entry have outlived its erasure.
    """
    lookups = list(lookups)
    conditions = [
        and_(
            BlindIndexEntry.index_name == lookup.index_name,
            BlindIndexEntry.master_key_id == key_id,
            BlindIndexEntry.value.in_(list(values)),
        )
        for lookup in lookups
        for key_id, values in lookup.values.items()
        if values
    ]
    if not conditions or not team_ids:
        return []
    # A plain IN over every value lets the planner use the (index_name, value) index even
    # when several master keys make the pairing below an OR.
    all_values = [
        value for lookup in lookups for values in lookup.values.values() for value in values
    ]
    erased = exists().where(
        Erasure.record_table == BlindIndexEntry.record_table,
        Erasure.record_id == BlindIndexEntry.record_id,
    )
    rows = session.execute(
        select(
            BlindIndexEntry.record_id,
            BlindIndexEntry.index_name,
            BlindIndexEntry.master_key_id,
            BlindIndexEntry.value,
        ).where(
            BlindIndexEntry.record_table == table,
            BlindIndexEntry.team_id.in_(team_ids),
            BlindIndexEntry.value.in_(all_values),
            or_(false(), *conditions),
            ~erased,
        )
    )
    return [EntryHit(*row) for row in rows]


def records_with_every_term(
    session: Session,
    table: str,
    team_ids: Collection[uuid.UUID],
    lookup: Lookup,
    terms: Collection[str],
) -> set[uuid.UUID]:
    """Records of `table` in `team_ids` with an entry of `lookup` for each one of `terms`.

    The words are intersected first, on the covering (index_name, value, record_id)
    index alone — a common first name costs an index range scan, not a row lookup per
    person — and only the few survivors are checked for team and erasure. A value is
    not paired with its master key here: values under different keys do not collide
    beyond the truncation that decryption confirms anyway.
    """
    if not terms or not team_ids:
        return set()
    per_term = []
    for term in terms:
        values = [
            value
            for by_value in lookup.values.values()
            for value, stands_for in by_value.items()
            if term in stands_for
        ]
        if not values:
            return set()
        per_term.append(
            select(BlindIndexEntry.record_id).where(
                BlindIndexEntry.index_name == lookup.index_name,
                BlindIndexEntry.value.in_(values),
            )
        )
    common = per_term[0] if len(per_term) == 1 else intersect(*per_term)
    erased = exists().where(
        Erasure.record_table == BlindIndexEntry.record_table,
        Erasure.record_id == BlindIndexEntry.record_id,
    )
    statement = (
        select(BlindIndexEntry.record_id)
        .where(
            BlindIndexEntry.record_id.in_(common.scalar_subquery()),
            BlindIndexEntry.index_name == lookup.index_name,
            BlindIndexEntry.record_table == table,
            BlindIndexEntry.team_id.in_(team_ids),
            ~erased,
        )
        .distinct()
    )
    return set(session.scalars(statement))
