"""Queries on consents: which grants are in force, a record's grants with who recorded
them, and what depends on a person's or a source's consent (reports, advocacy links)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, literal, or_, select
from sqlalchemy.orm import Session

from incidents.models.advocacy import ActionLink, AdvocacyAction
from incidents.models.consent import Consent
from incidents.models.erasure import Erasure
from incidents.models.person import Act, Person
from incidents.models.report import Report
from incidents.models.user import User
from incidents.models.vocabularies import ConsentUse

CONSENTS = Consent.__tablename__
REPORTS = Report.__tablename__


@dataclass(frozen=True)
class ConsentRow:
    consent: Consent
    recorded_by: str | None  # the recorder's display name
    erased: bool  # shredded with its person or source


@dataclass(frozen=True)
class ReportRow:
    id: uuid.UUID
    reference: str
    title: str
    erased: bool


@dataclass(frozen=True)
class LinkRow:
    action_reference: str
    action_title: str
    report_reference: str


def _erased(table: str, record_id: Any) -> ColumnElement[bool]:
    return exists().where(Erasure.record_table == table, Erasure.record_id == record_id)


def grant_in_force(
    owner: Literal["person", "source"], owner_id: Any, use: ConsentUse, on: date
) -> ColumnElement[bool]:
    """Whether the person or source `owner_id` (a column of the enclosing query, say a
    report's source_id) has a grant of `use` in force on `on`: a correlated EXISTS."""
    column = Consent.person_id if owner == "person" else Consent.source_id
    return exists().where(column == owner_id, Consent.use == use, _in_force(on))


def report_usable(use: ConsentUse, on: date) -> ColumnElement[bool]:
    """Whether the report of the enclosing query may serve `use` on `on`, by the rules of
    consent_uses.allows, as a condition the database checks: the report is not erased,
    its source has a grant in force, and no person with an act in its incident is erased
    or lacks one."""
    person_lacks = or_(
        _erased(Person.__tablename__, Act.person_id),
        ~grant_in_force("person", Act.person_id, use, on),
    )
    return and_(
        ~_erased(REPORTS, Report.id),
        Report.source_id.is_not(None),
        grant_in_force("source", Report.source_id, use, on),
        ~exists().where(Act.incident_id == Report.incident_id, person_lacks),
    )


def _in_force(on: date) -> ColumnElement[bool]:
    """A grant counts from the day it was given until the day it was withdrawn."""
    return and_(
        Consent.granted_on <= on,
        or_(Consent.revoked_on.is_(None), Consent.revoked_on > on),
        ~_erased(CONSENTS, Consent.id),
    )


def allowed(
    session: Session,
    owner_column: str,
    owner_id: uuid.UUID,
    use: ConsentUse,
    on: date,
    *,
    record_table: str,
    record_id: uuid.UUID,
) -> bool:
    """One statement: the owner has a grant of `use` in force on `on`, and the record
    asked about (the owner, or a report of a source) is not erased."""
    granted = exists().where(
        getattr(Consent, owner_column) == owner_id, Consent.use == use, _in_force(on)
    )
    return bool(session.scalar(select(and_(granted, ~_erased(record_table, record_id)))))


def consents_of(session: Session, owner_column: str, owner_id: uuid.UUID) -> list[ConsentRow]:
    """Every grant of the owner, newest first, with its recorder's name — one statement."""
    erased = _erased(CONSENTS, Consent.id).label("erased")
    rows = session.execute(
        select(Consent, User.display_name, erased)
        .outerjoin(User, User.id == Consent.recorded_by_id)
        .where(getattr(Consent, owner_column) == owner_id)
        .order_by(Consent.granted_on.desc(), Consent.created_at.desc(), Consent.id)
    )
    return [ConsentRow(consent, name, bool(gone)) for consent, name, gone in rows]


def overlapping_grant(
    session: Session, owner_column: str, owner_id: uuid.UUID, use: ConsentUse, starting: date
) -> Consent | None:
    """A grant of `use` that a new open-ended grant from `starting` would overlap: one
    not withdrawn, or withdrawn only after `starting`."""
    return session.scalars(
        select(Consent)
        .where(
            getattr(Consent, owner_column) == owner_id,
            Consent.use == use,
            or_(Consent.revoked_on.is_(None), Consent.revoked_on > starting),
            ~_erased(CONSENTS, Consent.id),
        )
        .order_by(Consent.granted_on)
        .limit(1)
    ).first()


def other_open_grants(session: Session, consent: Consent) -> Sequence[Consent]:
    """The owner's other grants of the same use not withdrawn yet (two can be in force
    once a duplicate person's grants have been merged into the kept person's)."""
    column = "person_id" if consent.person_id is not None else "source_id"
    return session.scalars(
        select(Consent).where(
            getattr(Consent, column) == getattr(consent, column),
            Consent.use == consent.use,
            Consent.id != consent.id,
            Consent.revoked_on.is_(None),
            ~_erased(CONSENTS, Consent.id),
        )
    ).all()


def lock_owner(session: Session, model: type[Any], owner_id: uuid.UUID) -> None:
    """Hold the owner's row until the transaction ends, so that two grants of one use
    made at the same moment are checked one after the other (PostgreSQL; SQLite has
    one writer at a time anyway)."""
    session.execute(
        select(literal(1)).select_from(model).where(model.id == owner_id).with_for_update()
    )


def reports_of_source(
    session: Session, source_id: uuid.UUID, team_id: uuid.UUID
) -> list[ReportRow]:
    return _reports(session, Report.source_id == source_id, team_id)


def reports_of_persons_incidents(
    session: Session, person_id: uuid.UUID, team_id: uuid.UUID
) -> list[ReportRow]:
    """The reports of every incident in which the person has an act."""
    incidents = select(Act.incident_id).where(Act.person_id == person_id, Act.team_id == team_id)
    return _reports(session, Report.incident_id.in_(incidents), team_id)


def _reports(
    session: Session, condition: ColumnElement[bool], team_id: uuid.UUID
) -> list[ReportRow]:
    erased = _erased(REPORTS, Report.id).label("erased")
    rows = session.execute(
        select(Report.id, Report.reference, Report.title, erased)
        .where(condition, Report.team_id == team_id)
        .order_by(Report.reference)
    )
    return [ReportRow(id_, reference, title, bool(gone)) for id_, reference, title, gone in rows]


def links_to_reports(session: Session, report_ids: Collection[uuid.UUID]) -> Sequence[LinkRow]:
    """The advocacy actions' links to these reports, by action then report."""
    if not report_ids:
        return []
    rows = session.execute(
        select(AdvocacyAction.reference, AdvocacyAction.title, Report.reference)
        .join(ActionLink, ActionLink.action_id == AdvocacyAction.id)
        .join(Report, Report.id == ActionLink.report_id)
        .where(ActionLink.report_id.in_(list(report_ids)))
        .order_by(AdvocacyAction.reference, Report.reference)
    )
    return [LinkRow(action, title, report) for action, title, report in rows]


def people_of_incident(session: Session, incident_id: uuid.UUID) -> list[Person]:
    """The people with an act in the incident, in a stable order — one statement."""
    acted = select(Act.person_id).where(Act.incident_id == incident_id)
    return list(session.scalars(select(Person).where(Person.id.in_(acted)).order_by(Person.id)))


# -- many reports at once ------------------------------------------------------------------


Ids = Collection[uuid.UUID] | Select[Any]  # ids, or a query of them


def _among(column: Any, ids: Ids) -> ColumnElement[bool]:
    among: ColumnElement[bool] = column.in_(ids if isinstance(ids, Select) else list(ids))
    return among


def _none(ids: Ids) -> bool:
    return not isinstance(ids, Select) and not ids


def people_of_incidents(
    session: Session, incident_ids: Ids
) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(incident, person, person erased) for each person with an act in these incidents,
    each pair once — one statement."""
    if _none(incident_ids):
        return []
    rows = session.execute(
        select(Act.incident_id, Act.person_id, _erased(Person.__tablename__, Act.person_id))
        .where(_among(Act.incident_id, incident_ids))
        .distinct()
    )
    return [(incident, person, bool(gone)) for incident, person, gone in rows]


def grants_in_force(
    session: Session,
    uses: Collection[ConsentUse],
    on: date,
    *,
    source_ids: Ids = (),
    person_ids: Ids = (),
) -> list[tuple[ConsentUse, uuid.UUID | None, uuid.UUID | None]]:
    """(use, source, person) of each grant of `uses` in force on `on`, as `allowed` counts
    them, by one of these sources or people — one statement."""
    owners = [
        _among(column, ids)
        for column, ids in ((Consent.source_id, source_ids), (Consent.person_id, person_ids))
        if not _none(ids)
    ]
    if not owners or not uses:
        return []
    rows = session.execute(
        select(Consent.use, Consent.source_id, Consent.person_id).where(
            Consent.use.in_(list(uses)), _in_force(on), or_(*owners)
        )
    )
    return [(use, source, person) for use, source, person in rows]
