"""Queries on the audit log: the auditor's filtered pages, a record's history, the head.

A filtered page reads only the events it shows, however long the log: a filter by record
or by actor is a union of keyset scans, one per value the filter stands for (a target id
or reference, an actor's label), each on its (value, id) index and each stopping at a
page. The labels an actor filter matches are found first by skipping through the index
of labels, one seek per distinct label, never a scan of the events.

What a reader sees of the log (`AuditScope`, incidents/audit/filters.py) is one more
condition of each scan, on columns of the event itself and on lists of ids the service
found first: no join, so each scan keeps its index.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from incidents.audit.actions import AuditAction
from incidents.audit.filters import INSTALLATION_ACTIONS, AuditScope, EventFilter
from incidents.models.audit import AuditEvent, AuditTreeState


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# An actor filter matching more labels than this (a word of many e-mails) is not worth a
# scan per label: its events are common, and the newest-first scan finds a page soon.
MAX_KEYED_SCANS = 20


def event_page(
    session: Session,
    scope: AuditScope,
    filters: EventFilter,
    before: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Newest first, keyset-paged on the position: the events `scope` sees."""
    conditions = _conditions(scope, filters, before)
    if filters.record:
        keys = [AuditEvent.target_id == filters.record, AuditEvent.target_ref == filters.record]
    elif filters.actor:
        labels = actor_labels(session, filters.actor)
        if not labels:
            return []
        if len(labels) > MAX_KEYED_SCANS:
            conditions.append(_actor_contains(filters.actor))
            return session.scalars(_newest(select(AuditEvent).where(*conditions), limit)).all()
        keys = [AuditEvent.actor == label for label in labels]
    else:
        return session.scalars(_newest(select(AuditEvent).where(*conditions), limit)).all()
    # Each scan in a subquery of its own: SQLite orders and limits a compound's members
    # only so.
    scans = [
        select(scan.c.id).select_from(scan)
        for scan in (
            _newest(select(AuditEvent.id).where(*conditions, key), limit).subquery() for key in keys
        )
    ]
    positions = union_all(*scans).subquery()
    statement = select(AuditEvent).where(AuditEvent.id.in_(select(positions.c.id)))
    return session.scalars(_newest(statement, limit)).all()


def _newest(statement: Select[Any], limit: int) -> Select[Any]:
    return statement.order_by(AuditEvent.id.desc()).limit(limit)


def _actor_contains(words: str) -> ColumnElement[bool]:
    return func.lower(AuditEvent.actor).contains(words.lower(), autoescape=True)


def _conditions(
    scope: AuditScope, filters: EventFilter, before: int | None
) -> list[ColumnElement[bool]]:
    """Every filter but the record's (each keyed scan is one of its values); an actor
    filter beside a record filter is a condition on the record's few events."""
    found: list[ColumnElement[bool]] = []
    seen = in_scope(scope, by_actor=bool(filters.actor))
    if seen is not None:
        found.append(seen)
    if filters.actor and filters.record:
        found.append(_actor_contains(filters.actor))
    if filters.action:
        found.append(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.since:
        found.append(AuditEvent.occurred_at >= _start_of(filters.since))
    if filters.until and filters.until < date.max:  # date.max: no day after it, no bound
        found.append(AuditEvent.occurred_at < _start_of(filters.until + timedelta(days=1)))
    if before is not None:
        found.append(AuditEvent.id < before)
    return found


# The tables of accounts: users, their API tokens, teams.
ACCOUNT_TABLES = ("users", "api_tokens", "teams")


def _ids(ids: Collection[uuid.UUID]) -> list[str]:
    return sorted(str(i) for i in ids)  # as the log writes a target's id


def in_scope(scope: AuditScope, by_actor: bool = False) -> ColumnElement[bool] | None:
    """The condition on an event that `scope` sees it (None: the whole log). Filtering by
    actor, an event shown without its actor's name is left out, or the filter would say
    whose it was."""
    if scope.teams is None:
        return None
    accounts: list[ColumnElement[bool]] = [
        AuditEvent.actor_id.in_(sorted(scope.members)),
        and_(AuditEvent.target_table == "users", AuditEvent.target_id.in_(_ids(scope.members))),
        and_(
            AuditEvent.target_table == "api_tokens",
            AuditEvent.target_id.in_(_ids(scope.member_tokens)),
        ),
        and_(AuditEvent.target_table == "teams", AuditEvent.target_id.in_(_ids(scope.teams))),
    ]
    if scope.every_account:
        accounts.append(AuditEvent.target_table.in_(ACCOUNT_TABLES))
    wider = or_(
        AuditEvent.action.in_(sorted(INSTALLATION_ACTIONS)),
        AuditEvent.target_table.in_(sorted(scope.shared_tables)),
        # a failed login of no known account: it names nobody
        and_(
            AuditEvent.action == AuditAction.LOGIN_FAILURE.value,
            AuditEvent.target_table.is_(None),
        ),
    )
    if by_actor:
        wider = and_(wider, AuditEvent.actor_id.is_(None))
    return or_(
        AuditEvent.team_id.in_(sorted(scope.teams)),
        and_(AuditEvent.team_id.is_(None), or_(*accounts, wider)),
    )


def visible_event(session: Session, position: int, scope: AuditScope) -> AuditEvent | None:
    """The leaf at `position`, if `scope` sees it."""
    seen = in_scope(scope)
    statement = select(AuditEvent).where(AuditEvent.id == position)
    return session.scalars(statement if seen is None else statement.where(seen)).first()


def actor_labels(session: Session, contains: str) -> list[str]:
    """The distinct actor labels of the log that contain `contains` (any case), found by
    a loose scan of the label index: one seek from each label to the next."""
    later = aliased(AuditEvent)
    labels = select(func.min(AuditEvent.actor).label("actor")).cte("labels", recursive=True)
    following = select(func.min(later.actor)).where(later.actor > labels.c.actor)
    labels = labels.union_all(
        select(following.scalar_subquery()).where(labels.c.actor.is_not(None))
    )
    return list(
        session.scalars(
            select(labels.c.actor).where(
                labels.c.actor.is_not(None),
                func.lower(labels.c.actor).contains(contains.lower(), autoescape=True),
            )
        )
    )


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
    """The leaf at `position`, if the tree has one there."""
    return session.get(AuditEvent, position)


def tree_head(session: Session) -> AuditTreeState | None:
    return session.get(AuditTreeState, 1)
