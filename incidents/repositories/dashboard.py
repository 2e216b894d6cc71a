"""Queries behind the advocacy dashboard and the follow-up calendar feed.

Every query is bounded by the teams asked about (None: every team, for the operator) and
reads public, advocacy and system columns, plus the restricted columns that only say
which records hang together (a report's source and incident, a grant's owner and days).
Nothing is decrypted; the services decide what of it a page may show.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from incidents.models.advocacy import AdvocacyAction
from incidents.models.consent import Consent
from incidents.models.erasure import Erasure
from incidents.models.incident import Incident, IncidentViolation
from incidents.models.person import Act, Person
from incidents.models.report import Report
from incidents.models.user import User
from incidents.models.vocabularies import ConsentUse, DatePrecision, Impact, ViolationType

Teams = Collection[uuid.UUID] | None
S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # any statement, its row type kept


@dataclass(frozen=True)
class IncidentDate:
    """One violation type of one incident, with the incident's start and its precision."""

    incident_id: uuid.UUID
    start_date: date | None
    precision: DatePrecision
    violation_type: ViolationType | None


@dataclass(frozen=True)
class ReportLinks:
    """What a report's consent depends on: its source and its incident."""

    id: uuid.UUID
    source_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    erased: bool


def _erased(table: str, record_id: Any) -> ColumnElement[bool]:
    return exists().where(Erasure.record_table == table, Erasure.record_id == record_id)


def _in_teams(statement: S, column: Any, teams: Teams) -> S:
    return statement if teams is None else statement.where(column.in_(list(teams)))


def incident_dates(session: Session, teams: Teams) -> list[IncidentDate]:
    """Each violation type of each incident of `teams` (one row with no type for an
    incident without any), erased incidents aside."""
    statement = (
        select(
            Incident.id,
            Incident.start_date,
            Incident.start_precision,
            IncidentViolation.violation_type,
        )
        .outerjoin(IncidentViolation, IncidentViolation.incident_id == Incident.id)
        .where(~_erased(Incident.__tablename__, Incident.id))
    )
    rows = session.execute(_in_teams(statement, Incident.team_id, teams))
    return [IncidentDate(*row) for row in rows]


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


def action_dates(session: Session, teams: Teams) -> list[tuple[date | None, Impact]]:
    """(start date, impact) of every advocacy action of `teams`."""
    statement = select(AdvocacyAction.start_date, AdvocacyAction.impact)
    return [(d, i) for d, i in session.execute(_in_teams(statement, AdvocacyAction.team_id, teams))]


def reports_of_teams(session: Session, teams: Teams) -> list[ReportLinks]:
    statement = select(
        Report.id,
        Report.source_id,
        Report.incident_id,
        _erased(Report.__tablename__, Report.id),
    )
    rows = session.execute(_in_teams(statement, Report.team_id, teams))
    return [ReportLinks(id_, source, incident, bool(gone)) for id_, source, incident, gone in rows]


def _incidents_of_reports(teams: Teams) -> Select[Any]:
    return _in_teams(
        select(Report.incident_id).where(Report.incident_id.is_not(None)), Report.team_id, teams
    )


def people_of_incidents(session: Session, teams: Teams) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(incident, person, person erased) for every person with an act in an incident that
    a report of `teams` belongs to — the people whose consent the report needs."""
    statement = (
        select(Act.incident_id, Act.person_id, _erased(Person.__tablename__, Act.person_id))
        .where(Act.incident_id.in_(_incidents_of_reports(teams)))
        .distinct()
    )
    return [(i, p, bool(gone)) for i, p, gone in session.execute(statement)]


def grants_in_force(
    session: Session, teams: Teams, uses: Collection[ConsentUse], on: date
) -> list[tuple[ConsentUse, uuid.UUID | None, uuid.UUID | None]]:
    """(use, source, person) of every grant of `uses` in force on `on` (as the consent
    service counts them) by a source of a report of `teams` or a person of its incident."""
    sources = _in_teams(
        select(Report.source_id).where(Report.source_id.is_not(None)), Report.team_id, teams
    )
    people = select(Act.person_id).where(Act.incident_id.in_(_incidents_of_reports(teams)))
    statement = select(Consent.use, Consent.source_id, Consent.person_id).where(
        Consent.use.in_(list(uses)),
        Consent.granted_on <= on,
        or_(Consent.revoked_on.is_(None), Consent.revoked_on > on),
        ~_erased(Consent.__tablename__, Consent.id),
        or_(Consent.source_id.in_(sources), Consent.person_id.in_(people)),
    )
    return [(use, source, person) for use, source, person in session.execute(statement)]


# -- the calendar feed -------------------------------------------------------------------


def user_by_calendar_hash(session: Session, token_hash: str) -> User | None:
    return session.scalars(select(User).where(User.calendar_token_hash == token_hash)).first()
