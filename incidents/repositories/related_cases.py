"""Queries for related-case suggestions: the records of one team whose blind-index
entries equal the values of another record's terms, and the suggestions dismissed."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from incidents.crypto.blind_index import Lookup
from incidents.models.blind_index import BlindIndexEntry
from incidents.models.erasure import Erasure
from incidents.models.incident import Incident
from incidents.models.person import Act, Involvement
from incidents.models.suggestion import SuggestionDismissal, SuggestionReason


@dataclass(frozen=True)
class CandidateEntry:
    """An entry of another record that equals one of the lookups, and the incident it is of."""

    record_table: str
    record_id: uuid.UUID
    index_name: str
    incident_id: uuid.UUID


@dataclass(frozen=True)
class Window:
    """Incidents that may overlap these days: those beginning by `last_start`, ending (or,
    without an end, beginning) on `first_end` or later, and the undated ones."""

    last_start: date
    first_end: date


def _matches(lookups: Iterable[Lookup]) -> ColumnElement[bool]:
    conditions = [
        and_(
            BlindIndexEntry.index_name == lookup.index_name,
            BlindIndexEntry.master_key_id == key_id,
            BlindIndexEntry.value.in_(list(values)),
        )
        for lookup in lookups
        for key_id, values in lookup.values.items()
        if values
    ]
    return or_(false(), *conditions)


def _erased(table: str, record_id: Any) -> ColumnElement[bool]:
    return exists().where(Erasure.record_table == table, Erasure.record_id == record_id)


def incident_candidates(
    session: Session,
    team_id: uuid.UUID,
    besides: uuid.UUID,
    lookups: Sequence[Lookup],
    window: Window | None,
    limit: int,
) -> list[CandidateEntry]:
    """Entries of the team's incidents (their places) and perpetrators (units and names)
    equal to one of `lookups`, of incidents other than `besides`, neither erased, within
    `window` when one is given — in one statement, at most `limit` of them."""
    values = [v for lookup in lookups for by_key in lookup.values.values() for v in by_key]
    if not values:
        return []

    def narrowed(
        statement: Select[str, uuid.UUID, str, uuid.UUID], record_table: str
    ) -> Select[str, uuid.UUID, str, uuid.UUID]:
        where = [
            BlindIndexEntry.record_table == record_table,
            BlindIndexEntry.team_id == team_id,
            # A plain IN first, so that the (index_name, value) index serves the lookup.
            BlindIndexEntry.value.in_(values),
            _matches(lookups),
            Incident.team_id == team_id,
            Incident.id != besides,
            ~_erased(record_table, BlindIndexEntry.record_id),
            ~_erased("incidents", Incident.id),
        ]
        if window is not None:
            ends = func.coalesce(Incident.end_date, Incident.start_date)
            where.append(
                or_(
                    Incident.start_date.is_(None),
                    and_(Incident.start_date <= window.last_start, ends >= window.first_end),
                )
            )
        return statement.where(*where)

    columns = (
        BlindIndexEntry.record_table,
        BlindIndexEntry.record_id,
        BlindIndexEntry.index_name,
        Incident.id,
    )
    places = narrowed(
        select(*columns).join(Incident, Incident.id == BlindIndexEntry.record_id), "incidents"
    )
    perpetrators = narrowed(
        select(*columns)
        .join(Involvement, Involvement.id == BlindIndexEntry.record_id)
        .join(Act, Act.id == Involvement.act_id)
        .join(Incident, Incident.id == Act.incident_id),
        "involvements",
    )
    rows = session.execute(union_all(places, perpetrators).limit(limit))
    return [CandidateEntry(*row) for row in rows]


def incidents_of_people(
    session: Session, team_id: uuid.UUID, person_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(person id, incident id) of each incident, not erased, in which one of these people
    of the team has an act not erased with them, each pair once."""
    if not person_ids:
        return []
    rows = session.execute(
        select(Act.person_id, Act.incident_id)
        .join(Incident, Incident.id == Act.incident_id)
        .where(
            Act.person_id.in_(list(person_ids)),
            Act.team_id == team_id,
            ~_erased("acts", Act.id),
            ~_erased("incidents", Incident.id),
        )
        .distinct()
    )
    return [(person_id, incident_id) for person_id, incident_id in rows]


def dismissals_of(
    session: Session, record_table: str, record_id: uuid.UUID
) -> Sequence[SuggestionDismissal]:
    """The dismissed suggestions of the record `record_id` of `record_table`, either side."""
    return session.scalars(
        select(SuggestionDismissal)
        .where(
            SuggestionDismissal.record_table == record_table,
            or_(
                SuggestionDismissal.first_id == record_id,
                SuggestionDismissal.second_id == record_id,
            ),
        )
        .order_by(SuggestionDismissal.dismissed_at)
    ).all()


def dismissals_of_pair(
    session: Session,
    record_table: str,
    pair: tuple[uuid.UUID, uuid.UUID],
    reasons: Collection[SuggestionReason],
) -> Sequence[SuggestionDismissal]:
    first, second = sorted(pair)
    return session.scalars(
        select(SuggestionDismissal).where(
            SuggestionDismissal.record_table == record_table,
            SuggestionDismissal.first_id == first,
            SuggestionDismissal.second_id == second,
            SuggestionDismissal.reason.in_(list(reasons)),
        )
    ).all()


def delete_dismissals(session: Session, ids: Collection[uuid.UUID]) -> None:
    if ids:
        session.execute(delete(SuggestionDismissal).where(SuggestionDismissal.id.in_(list(ids))))
