"""Queries on the audit log: the auditor's filtered pages, a record's history, the head."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.filters import EventFilter
from incidents.models.audit import AuditEvent, AuditTreeState


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def event_page(
    session: Session,
    team_ids: Collection[uuid.UUID] | None,
    filters: EventFilter,
    before: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Newest first, keyset-paged on the position: events of the teams (None: of every
    team) and of no team."""
    statement = select(AuditEvent)
    if team_ids is not None:
        statement = statement.where(
            or_(AuditEvent.team_id.is_(None), AuditEvent.team_id.in_(team_ids))
        )
    if filters.actor:
        statement = statement.where(
            func.lower(AuditEvent.actor).contains(filters.actor.lower(), autoescape=True)
        )
    if filters.action:
        statement = statement.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.record:
        statement = statement.where(
            or_(AuditEvent.target_ref == filters.record, AuditEvent.target_id == filters.record)
        )
    if filters.since:
        statement = statement.where(AuditEvent.occurred_at >= _start_of(filters.since))
    if filters.until and filters.until < date.max:  # date.max: no day after it, no bound
        statement = statement.where(
            AuditEvent.occurred_at < _start_of(filters.until + timedelta(days=1))
        )
    if before is not None:
        statement = statement.where(AuditEvent.id < before)
    return session.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit)).all()


def events_about(session: Session, target_ids: Collection[str]) -> Sequence[AuditEvent]:
    """Every event whose target is one of `target_ids`, oldest first."""
    if not target_ids:
        return []
    return session.scalars(
        select(AuditEvent).where(AuditEvent.target_id.in_(target_ids)).order_by(AuditEvent.id)
    ).all()


def checkpoint_events(session: Session) -> Sequence[tuple[int, dict[str, Any]]]:
    """(position, detail) of every checkpoint the log recorded."""
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.detail)
        .where(AuditEvent.action == AuditAction.AUDIT_CHECKPOINT)
        .order_by(AuditEvent.id)
    ).all()
    return [(int(position), detail) for position, detail in rows]


def last_verification(session: Session) -> AuditEvent | None:
    """The newest checkpoint or failed verification the log recorded."""
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_((AuditAction.AUDIT_CHECKPOINT, AuditAction.AUDIT_VERIFY_FAILED))
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def last_checkpoint(session: Session) -> AuditEvent | None:
    """The newest signed checkpoint the log recorded."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.AUDIT_CHECKPOINT)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def event_by_position(session: Session, position: int) -> AuditEvent | None:
    return session.get(AuditEvent, position)


def tree_head(session: Session) -> AuditTreeState | None:
    return session.get(AuditTreeState, 1)
