"""The related-cases sections ask the database a fixed number of statements however many
candidates they decrypt: one for the page's dismissals, one for every candidate entry
(places, units and names together, under every master key), one per kind of candidate
record, one for the candidates' data keys, and the audit events appended in one go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models.vocabularies import Role
from incidents.services import related_cases
from incidents.services.incidents import view_incident
from incidents.services.people import view_person
from tests.factories import (
    ActFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_events, count_statements

FEW, MANY = 3, 20  # two candidate records each: within MAX_CANDIDATES
ContextFor = Callable[..., Context]


def test_an_incidents_related_cases_take_fixed_statements(
    app: Flask, db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team])

    def with_unit(day: int) -> str:
        incident = IncidentFactory(
            team_id=team.id,
            start_date=dt.date(2017, 3, day),
            secrets={"narrative": "x", "place_detail": "Checkpoint 7"},
        )
        act = ActFactory(team_id=team.id, incident_id=incident.id)
        InvolvementFactory(
            team_id=team.id,
            act_id=act.id,
            secrets={"units": "Sever battalion", "perpetrator_names": "Petr Ivanov"},
        )
        return str(incident.reference)

    subject = with_unit(1)
    counts, made = [], 0
    for size in (FEW, MANY):
        while made < size:
            with_unit(2 + made % 27)
            made += 1
        ctx = context_for(researcher)
        view = view_incident(ctx, subject)
        before = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
        with count_statements(app) as seen:
            section = related_cases.for_incident(ctx, view)
        counts.append(seen.count)
        assert section is not None and len(section.suggestions) == size
        after = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
        assert after == before + 2 * size  # each candidate incident and perpetrator, once
    assert counts[0] == counts[1], counts


def test_a_persons_related_cases_take_fixed_statements(
    app: Flask, db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team])
    subject = PersonFactory(team_id=team.id, secrets={"full_name": "Movsar Demoev"})
    counts, made = [], 0
    for size in (FEW, MANY):
        while made < size:
            namesake = PersonFactory(team_id=team.id, secrets={"full_name": "Movsar Demoyev"})
            ActFactory(team_id=team.id, person_id=namesake.id)
            made += 1
        ctx = context_for(researcher)
        view = view_person(ctx, subject.reference)
        with count_statements(app) as seen:
            section = related_cases.for_person(ctx, view)
        counts.append(seen.count)
        assert section is not None and len(section.suggestions) == size
    assert counts[0] == counts[1], counts
