"""Queries on kept drafts; deleting a draft deletes its data key with it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from incidents.models.draft import Draft
from incidents.models.keys import DataKey

TABLE = Draft.__tablename__


def drafts_at(session: Session, user_id: uuid.UUID, path: str, now: datetime) -> Sequence[Draft]:
    """The user's unexpired drafts of the page `path`, newest first."""
    return session.scalars(
        select(Draft)
        .where(Draft.user_id == user_id, Draft.path == path, Draft.expires_at > now)
        .order_by(Draft.created_at.desc(), Draft.id)
    ).all()


def draft_ids_of(session: Session, user_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """Every draft of the user, newest first."""
    return session.scalars(
        select(Draft.id).where(Draft.user_id == user_id).order_by(Draft.created_at.desc())
    ).all()


def draft_ids_at(session: Session, user_id: uuid.UUID, path: str) -> Sequence[uuid.UUID]:
    """Every draft of the user for `path`, expired or not."""
    return session.scalars(
        select(Draft.id).where(Draft.user_id == user_id, Draft.path == path)
    ).all()


def delete_drafts(session: Session, ids: Collection[uuid.UUID]) -> int:
    """Delete these drafts and their data keys (nothing they sealed opens again)."""
    if not ids:
        return 0
    chosen = list(ids)
    session.execute(
        delete(DataKey).where(DataKey.record_table == TABLE, DataKey.record_id.in_(chosen))
    )
    result = session.execute(delete(Draft).where(Draft.id.in_(chosen)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_expired(session: Session, now: datetime) -> int:
    """Delete every draft that has expired, with its data key; how many there were."""
    expired = select(Draft.id).where(Draft.expires_at <= now)
    session.execute(
        delete(DataKey).where(DataKey.record_table == TABLE, DataKey.record_id.in_(expired))
    )
    result = session.execute(delete(Draft).where(Draft.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
