"""Counters behind human-readable references (INC-2017-0001, PER-0042)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.models.sequence import ReferenceCounter


def next_reference(session: Session, prefix: str, width: int = 4) -> str:
    """Return `prefix-000N` with N one more than the last issued for this prefix."""
    statement = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=prefix, last_value=1))
            value = 1
        except IntegrityError:  # another writer created the counter first
            value = session.execute(statement).scalar_one()
    return f"{prefix}-{value:0{width}d}"
