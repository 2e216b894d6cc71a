"""Queries on people."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models.incident import Incident
from incidents.models.person import Act, Person


def acts_of_person(session: Session, person: Person) -> Sequence[tuple[Act, str]]:
    """The person's acts with the reference of each act's incident, oldest first."""
    rows = session.execute(
        select(Act, Incident.reference)
        .join(Incident, Incident.id == Act.incident_id)
        .where(Act.person_id == person.id)
        .order_by(Act.start_date, Incident.reference)
    )
    return [(act, reference) for act, reference in rows]
