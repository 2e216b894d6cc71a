"""Queries on wrapped data keys."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models.keys import DataKey


def data_key_for(session: Session, table: str, record_id: uuid.UUID) -> DataKey | None:
    return session.scalars(
        select(DataKey).where(DataKey.record_table == table, DataKey.record_id == record_id)
    ).one_or_none()


def count_by_master_key(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)
    )
    return {key_id: count for key_id, count in rows}
