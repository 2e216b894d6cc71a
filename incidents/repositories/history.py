"""Queries behind a record's history: its newest audit events, and who the actors are."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from incidents.models.audit import AuditEvent
from incidents.models.user import User


def newest_events_about(
    session: Session, table: str, record_id: uuid.UUID, limit: int
) -> Sequence[Row[Any]]:
    """Up to `limit` events whose target is the record `record_id` of `table`, newest
    first: their position, time, actor, action, fields and detail (one statement)."""
    return session.execute(
        select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.fields,
            AuditEvent.detail,
        )
        .where(AuditEvent.target_id == str(record_id), AuditEvent.target_table == table)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()


def display_names(session: Session, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The display name of each of these users that still exists (one statement)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name).where(User.id.in_(list(user_ids)))
    ).all()
    return {user_id: name for user_id, name in rows}
