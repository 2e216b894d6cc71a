"""Queries of retention: the rules, the holds in force and what they hold, and the records
a rule applies to with the date its period runs from."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.orm import Session

from incidents.models import Act, Erasure, LegalHold, Report, RetentionRule, Source
from incidents.models.vocabularies import ReportStatus
from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT, REPORT, SOURCE


@dataclass(frozen=True)
class DatedRecord:
    """A record a rule may apply to, with the date its period runs from."""

    id: uuid.UUID
    reference: str
    team_id: uuid.UUID
    since: date


def rules(session: Session) -> Sequence[RetentionRule]:
    order = (RetentionRule.kind, RetentionRule.field, RetentionRule.created_at)
    return session.scalars(select(RetentionRule).order_by(*order)).all()


def rule_by_id(session: Session, rule_id: uuid.UUID) -> RetentionRule | None:
    return session.get(RetentionRule, rule_id)


def holds_in_force(session: Session) -> Sequence[LegalHold]:
    query = select(LegalHold).where(LegalHold.released_at.is_(None))
    return session.scalars(query.order_by(LegalHold.held_at, LegalHold.reference)).all()


def hold_in_force(session: Session, reference: str) -> LegalHold | None:
    query = select(LegalHold).where(
        LegalHold.reference == reference, LegalHold.released_at.is_(None)
    )
    return session.scalars(query).one_or_none()


def hold_by_id(session: Session, hold_id: uuid.UUID) -> LegalHold | None:
    return session.get(LegalHold, hold_id)


def held_records(session: Session) -> dict[uuid.UUID, LegalHold]:
    """Record id -> the hold in force that keeps it: the records held themselves, and for
    an incident held, its reports, their sources and the people of its acts."""
    held: dict[uuid.UUID, LegalHold] = {}
    for hold in holds_in_force(session):
        held.setdefault(hold.record_id, hold)
        if hold.record_table != INCIDENT.table:
            continue
        reports = session.execute(
            select(Report.id, Report.source_id).where(Report.incident_id == hold.record_id)
        ).all()
        people = session.scalars(select(Act.person_id).where(Act.incident_id == hold.record_id))
        for record_id in [*(r.id for r in reports), *(r.source_id for r in reports), *people]:
            if record_id is not None:
                held.setdefault(record_id, hold)
    return held


def dated_records(
    session: Session,
    kind: RecordKind,
    from_key: str,
    field: str | None,
    *,
    team_id: uuid.UUID | None = None,
    record_ids: Collection[uuid.UUID] | None = None,
) -> list[DatedRecord]:
    """The records of `kind` not erased (with `field`: whose `field` still holds a value),
    each with its date `from_key`; of one team or of some records only, if given."""
    model = kind.model
    query = _dated_query(kind, from_key).where(~_erased(kind))
    if field is not None:
        query = query.where(getattr(model, field).is_not(None))
    if team_id is not None:
        query = query.where(model.team_id == team_id)
    if record_ids is not None:
        query = query.where(model.id.in_(list(record_ids)))
    rows = session.execute(query.order_by(model.reference)).all()
    return [
        DatedRecord(row.id, row.reference, row.team_id, _day(row.since or row.recorded))
        for row in rows
    ]


def _dated_query(kind: RecordKind, from_key: str) -> Select[Any]:
    model = kind.model
    columns = (model.id, model.reference, model.team_id, model.created_at.label("recorded"))
    if kind is SOURCE and from_key == "last_report":
        last = (
            select(func.max(Report.received_on))
            .where(Report.source_id == Source.id)
            .scalar_subquery()
        )
        return select(*columns, last.label("since"))
    if kind is REPORT and from_key == "rejected_on":
        query = select(*columns, Report.updated_at.label("since"))
        return query.where(Report.status == ReportStatus.REJECTED)
    if from_key in ("created_at", "updated_at") or (kind is REPORT and from_key == "received_on"):
        return select(*columns, getattr(model, from_key).label("since"))
    raise ValueError(f"no way to read the date {from_key!r} of a {kind.name}")


def _erased(kind: RecordKind) -> ColumnElement[bool]:
    return exists().where(Erasure.record_table == kind.table, Erasure.record_id == kind.model.id)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def clear_field(session: Session, record: Any, field: str) -> None:
    """Overwrite the ciphertext of `field` in the row with NULL. The lock moves on, so an
    edit form opened before cannot write the field back; `updated_at` stays, since no one
    changed what the record says, and it is a date other rules may run from."""
    model = type(record)
    session.flush()
    session.execute(
        update(model)
        .where(model.id == record.id)
        .values(
            {field: None, "lock_version": model.lock_version + 1, "updated_at": model.updated_at}
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(record)
