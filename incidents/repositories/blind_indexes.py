"""Queries on blind-index entries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

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

    Two statements whatever the number of words, on the covering (index_name, value,
    record_id) index: one counts the entries of every word's values, then the rarest
    word's records are kept when each other word has an entry of the same record — one
    subquery for all the other words, not one nested in the next per word (which outgrew
    SQLite's parser at nine words, so a long full name could not be searched). A common
    first name in the query so costs one count, not a row per person who bears it.
    Team and erasure are checked on the rarest word's few hits. A value is not paired
    with its master key here: values under different keys do not collide beyond the
    truncation that decryption confirms anyway.
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
    if len(value_lists) > 1:
        counts = _entries_per_value(session, lookup.index_name, value_lists)
        value_lists.sort(key=lambda values: sum(counts.get(value, 0) for value in values))
    rarest, *others = value_lists
    erased = exists().where(
        Erasure.record_table == BlindIndexEntry.record_table,
        Erasure.record_id == BlindIndexEntry.record_id,
    )
    narrowed = select(BlindIndexEntry.record_id).where(
        BlindIndexEntry.index_name == lookup.index_name,
        BlindIndexEntry.value.in_(rarest),
        BlindIndexEntry.record_table == table,
        _in_teams(team_ids),
        ~erased,
    )
    if others:
        narrowed = narrowed.where(_has_every_word(lookup.index_name, others) == len(others))
    return set(session.scalars(narrowed.distinct()))


def _entries_per_value(
    session: Session, index_name: str, value_lists: list[list[bytes]]
) -> dict[bytes, int]:
    every_value = list({value for values in value_lists for value in values})
    rows = session.execute(
        select(BlindIndexEntry.value, func.count())
        .where(BlindIndexEntry.index_name == index_name, BlindIndexEntry.value.in_(every_value))
        .group_by(BlindIndexEntry.value)
    )
    return {value: count for value, count in rows}


def _has_every_word(index_name: str, value_lists: list[list[bytes]]) -> ScalarSelect[int]:
    """For the record of the enclosing row: how many of the words (each a list of values)
    it has an entry for — one flag per word, added up, so a flat sum however many words."""
    other = aliased(BlindIndexEntry)
    flags = [func.max(case((other.value.in_(values), 1), else_=0)) for values in value_lists]
    return (
        select(sum(flags[1:], flags[0]))
        .where(
            other.record_id == BlindIndexEntry.record_id,
            other.index_name == index_name,
            other.value.in_([value for values in value_lists for value in values]),
        )
        .scalar_subquery()
    )


def _in_teams(team_ids: Collection[uuid.UUID] | None) -> ColumnElement[bool]:
    """Entries of records of these teams; every team for None (the operator)."""
    return true() if team_ids is None else BlindIndexEntry.team_id.in_(team_ids)
