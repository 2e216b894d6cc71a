"""Queries behind the advocacy dashboard and the follow-up calendar feed.

Every query is bounded by the teams asked about (None: every team, for the operator) and
reads public, advocacy and system columns, plus the restricted columns that only say
which records hang together (a report's source and incident, a grant's owner and days).
Nothing is decrypted; the services decide what of it a page may show.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    distinct,
    exists,
    extract,
    func,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from incidents.models.advocacy import AdvocacyAction
from incidents.models.erasure import Erasure
from incidents.models.incident import Incident, IncidentViolation
from incidents.models.report import Report
from incidents.models.user import User
from incidents.models.vocabularies import ConsentUse, DatePrecision, Impact, ViolationType
from incidents.repositories import consents as consent_queries

Teams = Collection[uuid.UUID] | None
S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # any statement, its row type kept


MONTH_PRECISE = (DatePrecision.DAY, DatePrecision.MONTH)  # a start known to the month
MonthKey = tuple[int, int] | None  # (year, month); None: not known to the month


def _erased(table: str, record_id: Any) -> ColumnElement[bool]:
    return exists().where(Erasure.record_table == table, Erasure.record_id == record_id)


def _in_teams(statement: S, column: Any, teams: Teams) -> S:
    return statement if teams is None else statement.where(column.in_(list(teams)))


def _year_month(column: Any) -> tuple[ColumnElement[int], ColumnElement[int]]:
    return extract("year", column), extract("month", column)


def _month_key(year: Any, month: Any) -> MonthKey:
    return None if year is None else (int(year), int(month))


def _dated() -> ColumnElement[bool]:
    return and_(Incident.start_date.is_not(None), Incident.start_precision.in_(MONTH_PRECISE))


def incidents_per_month_and_type(
    session: Session, teams: Teams
) -> list[tuple[MonthKey, ViolationType | None, int]]:
    """(month, violation type, incidents) of `teams`, of the incidents dated to the month
    (None for those without any type), erased aside — counted by the database."""
    year, month = _year_month(Incident.start_date)
    statement = (
        select(year, month, IncidentViolation.violation_type, func.count(distinct(Incident.id)))
        .outerjoin(IncidentViolation, IncidentViolation.incident_id == Incident.id)
        .where(_dated(), ~_erased(Incident.__tablename__, Incident.id))
        .group_by(year, month, IncidentViolation.violation_type)
    )
    rows = session.execute(_in_teams(statement, Incident.team_id, teams))
    return [(_month_key(y, m), kind, int(n)) for y, m, kind, n in rows]


def incidents_per_month(session: Session, teams: Teams) -> list[tuple[MonthKey, int]]:
    """(month, incidents) of `teams`, erased aside, with one row (None, incidents) for
    those not dated to the month — counted by the database, in one statement."""
    year, month = _year_month(Incident.start_date)
    alive = ~_erased(Incident.__tablename__, Incident.id)
    per_month = _in_teams(
        select(year, month, func.count(Incident.id)).where(_dated(), alive),
        Incident.team_id,
        teams,
    ).group_by(year, month)
    nothing = null().cast(Integer)
    undated = _in_teams(
        select(nothing, nothing, func.count(Incident.id)).where(~_dated(), alive),
        Incident.team_id,
        teams,
    )
    rows = session.execute(union_all(per_month, undated))
    return [(_month_key(y, m), int(n)) for y, m, n in rows]


def incidents_by_region(session: Session, teams: Teams) -> list[tuple[str | None, str | None, int]]:
    """(country, region, incidents) of `teams`, most incidents first; erased aside."""
    count = func.count(Incident.id)
    statement = (
        select(Incident.country, Incident.region, count)
        .where(~_erased(Incident.__tablename__, Incident.id))
        .group_by(Incident.country, Incident.region)
        .order_by(count.desc(), Incident.country, Incident.region)
    )
    return [
        (c, r, int(n)) for c, r, n in session.execute(_in_teams(statement, Incident.team_id, teams))
    ]


def actions_per_month(session: Session, teams: Teams) -> list[tuple[MonthKey, Impact, int]]:
    """(month of the start, impact, actions) of `teams`; month None for the undated."""
    year, month = _year_month(AdvocacyAction.start_date)
    statement = select(year, month, AdvocacyAction.impact, func.count(AdvocacyAction.id))
    statement = _in_teams(statement, AdvocacyAction.team_id, teams)
    rows = session.execute(statement.group_by(year, month, AdvocacyAction.impact))
    return [(_month_key(y, m), impact, int(n)) for y, m, impact, n in rows]


def usable_report_counts(
    session: Session, teams: Teams, uses: Sequence[ConsentUse], on: date
) -> tuple[dict[ConsentUse, int], int]:
    """For each of `uses`, how many reports of `teams` may serve it on `on`, and how many
    reports there are, erased ones aside — counted by the database in one statement, by
    the rules of consent_uses.allows (consents.report_usable)."""
    counts = [func.count().filter(consent_queries.report_usable(use, on)) for use in uses]
    statement = select(func.count(), *counts).where(~_erased(Report.__tablename__, Report.id))
    total, *usable_counts = session.execute(_in_teams(statement, Report.team_id, teams)).one()
    return {use: int(n or 0) for use, n in zip(uses, usable_counts, strict=True)}, int(total or 0)


# -- the calendar feed -------------------------------------------------------------------


def user_by_calendar_hash(session: Session, token_hash: str) -> User | None:
    return session.scalars(select(User).where(User.calendar_token_hash == token_hash)).first()
