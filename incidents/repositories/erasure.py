"""Queries behind crypto-shredding."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from incidents.models import Act, Consent, DataKey, Erasure, Evidence


def record_by_reference(session: Session, model: type[Any], reference: str) -> Any:
    return session.scalars(select(model).where(model.reference == reference)).one_or_none()


def tombstone(session: Session, reference: str) -> Erasure | None:
    return session.scalars(select(Erasure).where(Erasure.reference == reference)).one_or_none()


def tombstone_of_record(session: Session, table: str, record_id: uuid.UUID) -> Erasure | None:
    return session.scalars(
        select(Erasure).where(Erasure.record_table == table, Erasure.record_id == record_id)
    ).one_or_none()


def acts_of_person(session: Session, person_id: uuid.UUID) -> Sequence[Act]:
    return session.scalars(select(Act).where(Act.person_id == person_id)).all()


def consents_of(
    session: Session, column: InstrumentedAttribute[uuid.UUID | None], owner_id: uuid.UUID
) -> Sequence[Consent]:
    return session.scalars(select(Consent).where(column == owner_id)).all()


def evidence_of_report(session: Session, report_id: uuid.UUID) -> Sequence[Evidence]:
    return session.scalars(select(Evidence).where(Evidence.report_id == report_id)).all()


def delete_data_key(session: Session, table: str, record_id: uuid.UUID) -> int:
    result = session.execute(
        delete(DataKey).where(DataKey.record_table == table, DataKey.record_id == record_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
