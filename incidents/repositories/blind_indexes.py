"""Queries on blind-index entries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, delete, exists, false, func, or_, select, true
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
    session: Session,
    table: str,
    team_ids: Collection[uuid.UUID] | None,
    lookups: Iterable[Lookup],
) -> list[EntryHit]:
    """Entries of records of `table` in `team_ids` (None: every team) matching any lookup
    under its key.

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
    if not conditions or (team_ids is not None and not team_ids):
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
            _in_teams(team_ids),
            BlindIndexEntry.value.in_(all_values),
            or_(false(), *conditions),
            ~erased,
        )
    )
    return [EntryHit(*row) for row in rows]


def records_with_every_term(
    session: Session,
    table: str,
    team_ids: Collection[uuid.UUID] | None,
    lookup: Lookup,
    terms: Collection[str],
) -> set[uuid.UUID]:
    """Records of `table` in `team_ids` with an entry of `lookup` for each one of `terms`.

    The rarest word goes first and each next word is looked up only among the records
    that had the words before it, on the covering (index_name, value, record_id) index:
    a common first name in the query costs one count, not a row per person who bears it.
    Team and erasure are checked on the rarest word's few hits. A value is not paired with its
    master key here: values under different keys do not collide beyond the truncation
    that decryption confirms anyway.
    """
    if not terms or (team_ids is not None and not team_ids):
        return set()
    value_lists = []
    for term in terms:
        values = [
            value
            for by_value in lookup.values.values()
            for value, stands_for in by_value.items()
            if term in stands_for
        ]
        if not values:
            return set()
        value_lists.append(values)

    def with_values(values: list[bytes]) -> Select[uuid.UUID]:
        return select(BlindIndexEntry.record_id).where(
            BlindIndexEntry.index_name == lookup.index_name, BlindIndexEntry.value.in_(values)
        )

    if len(value_lists) > 1:
        value_lists.sort(
            key=lambda values: (
                session.scalar(select(func.count()).select_from(with_values(values).subquery()))
                or 0
            )
        )
    erased = exists().where(
        Erasure.record_table == BlindIndexEntry.record_table,
        Erasure.record_id == BlindIndexEntry.record_id,
    )
    # Team and erasure are checked where the rows are fewest: on the rarest word's hits.
    narrowed = with_values(value_lists[0]).where(
        BlindIndexEntry.record_table == table,
        _in_teams(team_ids),
        ~erased,
    )
    for values in value_lists[1:]:
        narrowed = with_values(values).where(BlindIndexEntry.record_id.in_(narrowed))
    return set(session.scalars(narrowed.distinct()))


def _in_teams(team_ids: Collection[uuid.UUID] | None) -> ColumnElement[bool]:
    """Entries of records of these teams; every team for None (the operator)."""
    return true() if team_ids is None else BlindIndexEntry.team_id.in_(team_ids)
