"""Queries on people (and, for rebuilding blind indexes, on sources)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.incident import Incident
from incidents.models.person import Act, Person


def person_by_reference(session: Session, reference: str) -> Person | None:
    return session.scalars(select(Person).where(Person.reference == reference)).one_or_none()


def persons_by_ids(session: Session, ids: Collection[uuid.UUID]) -> Sequence[Person]:
    if not ids:
        return []
    return session.scalars(
        select(Person).where(Person.id.in_(ids)).order_by(Person.reference)
    ).all()


def acts_of_person(session: Session, person: Person) -> Sequence[tuple[Act, str]]:
    """The person's acts with the reference of each act's incident, oldest first."""
    rows = session.execute(
        select(Act, Incident.reference)
        .join(Incident, Incident.id == Act.incident_id)
        .where(Act.person_id == person.id)
        .order_by(Act.start_date, Incident.reference)
    )
    return [(act, reference) for act, reference in rows]


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
