"""Queries any kind of record shares: by reference or id, in batches, their tombstones,
their references' counters, and the rows that hang off them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.keys import DataKey
from incidents.models.person_merge import PersonMerge
from incidents.models.sequence import ReferenceCounter


def by_reference(session: Session, model: type[Any], reference: str) -> Any:
    return session.scalars(select(model).where(model.reference == reference)).one_or_none()


def by_id(session: Session, model: type[Any], record_id: uuid.UUID) -> Any:
    return session.get(model, record_id)


def by_ids(session: Session, model: type[Any], ids: Collection[uuid.UUID]) -> Sequence[Any]:
    """The records of `model` with these ids, by reference when they have one."""
    if not ids:
        return []
    order = model.reference if hasattr(model, "reference") else model.id
    return session.scalars(select(model).where(model.id.in_(list(ids))).order_by(order)).all()


def by_ids_or_references(
    session: Session, model: type[Any], ids: Collection[uuid.UUID], references: Collection[str]
) -> Sequence[Any]:
    """The records of `model` with one of these ids, or one of these references when the
    kind has references (one statement)."""
    if references and hasattr(model, "reference"):
        condition = or_(model.id.in_(ids), model.reference.in_(references))
    else:
        condition = model.id.in_(ids)
    return session.scalars(select(model).where(condition)).all()


def any_tombstone(session: Session, table: str | None) -> bool:
    """Whether some record of `table` (of any table: None) was ever erased."""
    query = select(Erasure.id)
    if table is not None:
        query = query.where(Erasure.record_table == table)
    return bool(session.scalar(select(exists(query))))


def holds_none(session: Session, model: type[Any]) -> bool:
    """Whether the table of `model` holds no record at all."""
    return not session.scalar(select(exists(select(model.id))))


def any_person_merge(session: Session) -> bool:
    """Whether any person was ever merged into another."""
    return bool(session.scalar(select(exists(select(PersonMerge.id)))))


def where_in(
    session: Session, model: type[Any], column: str, values: Collection[uuid.UUID]
) -> Sequence[Any]:
    """Records of `model` whose `column` is one of `values` (what hangs off a record)."""
    if not values:
        return []
    return session.scalars(select(model).where(getattr(model, column).in_(list(values)))).all()


def newest(
    session: Session, model: type[Any], teams: Collection[uuid.UUID] | None, limit: int
) -> Sequence[Any]:
    """The `limit` records of `model` created last in `teams` (None: every team), erased
    records aside."""
    statement = select(model).where(
        ~select(Erasure.id)
        .where(Erasure.record_table == model.__tablename__, Erasure.record_id == model.id)
        .exists()
    )
    if teams is not None:
        statement = statement.where(model.team_id.in_(list(teams)))
    return session.scalars(statement.order_by(model.created_at.desc()).limit(limit)).all()


def where_given(statement: Select[Any], equalities: Sequence[tuple[Any, object]]) -> Select[Any]:
    """`statement` narrowed by each (column, value) whose value was given: a list page's
    choice filters, where nothing chosen means no filter."""
    for column, value in equalities:
        if value is not None:
            statement = statement.where(column == value)
    return statement


def count_records(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def record_batch(
    session: Session, model: type[Any], after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    """Up to `limit` records of `model` ordered by id, after `after` (keyset paging)."""
    statement = select(model)
    if after is not None:
        statement = statement.where(model.id > after)
    return session.scalars(statement.order_by(model.id).limit(limit)).all()


# -- tombstones ---------------------------------------------------------------------------


def tombstone(session: Session, reference: str) -> Erasure | None:
    return session.scalars(select(Erasure).where(Erasure.reference == reference)).one_or_none()


def erased_ids(session: Session, table: str, ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `ids` (records of `table`) that have a tombstone."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Erasure.record_id).where(
                Erasure.record_table == table, Erasure.record_id.in_(list(ids))
            )
        )
    )


def is_erased(session: Session, table: str, record_id: uuid.UUID) -> bool:
    return bool(erased_ids(session, table, [record_id]))


def delete_data_key(session: Session, table: str, record_id: uuid.UUID) -> int:
    result = session.execute(
        delete(DataKey).where(DataKey.record_table == table, DataKey.record_id == record_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- references ---------------------------------------------------------------------------


def next_reference(session: Session, prefix: str, width: int = 4) -> str:
    """Return `prefix-000N` with N one more than the last issued for this prefix."""
    return reference_text(prefix, take_references(session, prefix, 1), width)


def reference_text(prefix: str, value: int, width: int = 4) -> str:
    return f"{prefix}-{value:0{width}d}"


def take_references(session: Session, prefix: str, count: int) -> int:
    """Move the prefix's counter on by `count`; the last number taken (the block taken
    ends there). Nothing else is flushed with a counter made here."""
    statement = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix)
        .values(last_value=ReferenceCounter.last_value + count)
        .returning(ReferenceCounter.last_value)
    )
    value: int | None = session.execute(statement).scalar_one_or_none()
    if value is None:
        session.flush()  # the savepoint below holds the counter alone
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=prefix, last_value=count))
            value = count
        except IntegrityError:  # another writer created the counter first
            value = session.execute(statement).scalar_one()
    return value


def give_back_references(session: Session, prefix: str, taken: int, used: int) -> None:
    """Move the counter back from `taken` (the end of a block this transaction took) to
    `used`, unless it has moved since: numbers taken in a block but not used are not lost."""
    session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.last_value == taken)
        .values(last_value=used)
    )


def reference_taken(session: Session, model: type[Any], reference: str) -> bool:
    """Whether a record of `model` has `reference`, or an erased one had it."""
    return by_reference(session, model, reference) is not None or (
        tombstone(session, reference) is not None
    )


def reserve_reference(session: Session, reference: str, *, known: bool = False) -> None:
    """Move the counter of the reference's prefix (`INC-2017` of `INC-2017-0042`) to at
    least its number, so that `next_reference` never issues it again; `known`: the
    counter is known to exist (made earlier in this transaction), and is not looked for."""
    prefix, _, number = reference.rpartition("-")
    value = int(number)
    raise_counter = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.last_value < value)
        .values(last_value=value)
    )
    if (
        not known
        and session.scalar(select(ReferenceCounter.prefix).where(ReferenceCounter.prefix == prefix))
        is None
    ):
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=prefix, last_value=value))
            return
        except IntegrityError:  # another writer created the counter first
            pass
    session.execute(raise_counter)
