"""Queries behind a record's history: its newest audit events, and who the actors are."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, exists, literal, select, union_all
from sqlalchemy.orm import Session

from incidents.models.audit import AuditEvent, QueuedAuditEvent
from incidents.models.user import TeamMembership, User


def newest_events_about(
    session: Session, table: str, record_id: uuid.UUID, limit: int
) -> Sequence[Row[Any, Any, Any, Any, Any, Any]]:
    """Up to `limit` events whose target is the record `record_id` of `table`, newest
    first: their time, actor, action, fields and detail (one statement).

    Events still queued for the tree (PostgreSQL's writers, incidents/audit/sequencer.py)
    are the newest: a change is in its record's history as soon as it commits, not once
    its leaf is integrated. The queue is short (bounded), so reading it needs no index.
    """
    newest = [
        select(
            literal(rank).label("rank"),
            model.id,
            model.occurred_at,
            model.actor_id,
            model.actor,
            model.action,
            model.fields,
            model.detail,
        )
        .where(model.target_id == str(record_id), model.target_table == table)
        .order_by(model.id.desc())
        .limit(limit)
        .subquery()
        for rank, model in ((0, QueuedAuditEvent), (1, AuditEvent))
    ]
    both = union_all(*(select(*part.c) for part in newest)).subquery()
    return session.execute(
        select(
            both.c.occurred_at,
            both.c.actor_id,
            both.c.actor,
            both.c.action,
            both.c.fields,
            both.c.detail,
        )
        .order_by(both.c.rank, both.c.id.desc())
        .limit(limit)
    ).all()


def display_names(
    session: Session,
    user_ids: Collection[uuid.UUID],
    within_teams: Collection[uuid.UUID] | None = None,
) -> dict[uuid.UUID, str]:
    """The display name of each of these users that still exists — and, `within_teams`
    given, is a member of one of those teams (one statement)."""
    if not user_ids:
        return {}
    statement = select(User.id, User.display_name).where(User.id.in_(list(user_ids)))
    if within_teams is not None:
        statement = statement.where(
            exists().where(
                TeamMembership.user_id == User.id,
                TeamMembership.team_id.in_(sorted(within_teams)),
            )
        )
    rows = session.execute(statement).all()
    return {user_id: name for user_id, name in rows}
