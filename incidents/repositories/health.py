"""Queries of the installation check: what the evidence rows name, one data key to try."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models.evidence import Evidence
from incidents.models.keys import DataKey

_BATCH = 5000


def stored_evidence_keys(session: Session) -> Iterator[str]:
    """The storage key of every evidence row that names a stored file, in bounded memory."""
    statement = (
        select(Evidence.storage_key)
        .where(Evidence.storage_key.is_not(None))
        .execution_options(yield_per=_BATCH)
    )
    for key in session.scalars(statement):
        if key is not None:
            yield key


def sample_data_key(session: Session, master_key_id: str) -> DataKey | None:
    """One data key wrapped by `master_key_id` (the first by id), or None."""
    return session.scalars(
        select(DataKey).where(DataKey.master_key_id == master_key_id).order_by(DataKey.id).limit(1)
    ).one_or_none()
