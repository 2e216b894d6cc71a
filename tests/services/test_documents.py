"""A record as a document, on SQLite and PostgreSQL: what a reader may not see is left out
and named, secrets not opened are named as sealed, and a whole document read back through
`writable` is what the one validator accepts and gives the record's own values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from incidents.db import FieldClass
from incidents.models.vocabularies import DatePrecision, Role
from incidents.records.inputs import parse
from incidents.records.kind import RecordKind
from incidents.records.kinds import (
    ACT,
    ACTION_LINK,
    FOLLOW_UP,
    INCIDENT,
    PERSON,
    REPORT,
)
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile
from incidents.services import documents
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    AdvocacyActionFactory,
    FollowUpFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import context

EVERYTHING = PROFILE_FIELD_CLASSES[Profile.FULL]


def _opened(app: Flask, db_session: Session, record: Any) -> dict[str, str | None]:
    return context(db_session, app).vault.unseal(record)


def _names(app: Flask, db_session: Session) -> documents.Names:
    return documents.load_names(context(db_session, app))


def test_an_incident_document_holds_its_fields_as_the_validator_takes_them(
    app: Flask, db_session: Session
) -> None:
    team = TeamFactory()
    incident = IncidentFactory(
        team_id=team.id, end_date=dt.date(2017, 3, 9), end_precision=DatePrecision.DAY
    )
    doc = documents.document(
        INCIDENT, incident, EVERYTHING, _names(app, db_session), _opened(app, db_session, incident)
    )
    assert doc["id"] == str(incident.id)
    assert doc["reference"] == incident.reference
    assert doc["team"] == team.slug
    assert doc["start_date"] == "2017-03" and doc["start_precision"] == "month"
    assert doc["end_date"] == "2017-03-09" and doc["end_precision"] == "day"
    assert doc["violation_types"] == ["abduction"]
    assert doc["narrative"] == "A confidential narrative."
    assert "withheld" not in doc and "sealed" not in doc


def test_what_a_reader_may_not_see_is_withheld_and_unopened_secrets_are_sealed(
    app: Flask, db_session: Session
) -> None:
    report = ReportFactory()
    public_only = documents.document(
        REPORT, report, frozenset({FieldClass.PUBLIC}), _names(app, db_session)
    )
    assert "title" not in public_only and "narrative" not in public_only
    assert {"title", "narrative", "source", "created_at"} <= set(public_only["withheld"])
    assert public_only["reference"] == report.reference  # a pseudonymous label, public

    listed = documents.document(REPORT, report, EVERYTHING, _names(app, db_session))
    assert listed["title"] == report.title
    assert listed["sealed"] == ["narrative"]
    assert "narrative" not in listed


def test_a_person_s_other_names_are_a_list_and_links_are_ids(
    app: Flask, db_session: Session
) -> None:
    team = TeamFactory()
    person = PersonFactory(
        team_id=team.id, secrets={"full_name": "Ruslan K.", "aliases": "Ruslan\nRusik"}
    )
    act = ActFactory(team_id=team.id, person_id=person.id)
    names = _names(app, db_session)
    person_doc = documents.document(
        PERSON, person, EVERYTHING, names, _opened(app, db_session, person)
    )
    assert person_doc["aliases"] == ["Ruslan", "Rusik"]
    act_doc = documents.document(ACT, act, EVERYTHING, names, _opened(app, db_session, act))
    assert act_doc["person"] == str(person.id)
    assert act_doc["incident"] == str(act.incident_id)


def test_users_are_named_by_e_mail(app: Flask, db_session: Session) -> None:
    team = TeamFactory()
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    action = AdvocacyActionFactory(team_id=team.id)
    follow_up = FollowUpFactory(action_id=action.id, assignee_id=lead.id)
    doc = documents.document(FOLLOW_UP, follow_up, EVERYTHING, _names(app, db_session))
    assert doc["assignee"] == lead.email
    raw = documents.writable(FOLLOW_UP, doc, documents.user_id_by_email(context(db_session, app)))
    assert raw["assignee"] == str(lead.id)


def _round_trip(kind: RecordKind, record: Any, app: Flask, db_session: Session) -> None:
    """The document of `record`, read back, parses to the record's own column values."""
    opened = _opened(app, db_session, record)
    doc = documents.document(kind, record, EVERYTHING, _names(app, db_session), opened)
    raw = documents.writable(kind, doc, documents.user_id_by_email(context(db_session, app)))
    parsed = parse(kind.fields, raw, check=kind.check)
    for column, value in parsed.plain.items():
        stored = getattr(record, column)
        if hasattr(value, "key"):  # a link, by id
            assert value.key == str(stored), column
        elif isinstance(value, list):
            assert sorted(map(str, value)) == sorted(map(str, stored)), column
        else:
            assert value == stored, column
    for column, value in parsed.secrets.items():
        assert value == opened[column], column


def test_every_document_reads_back_as_the_record_it_came_from(
    app: Flask, db_session: Session
) -> None:
    team = TeamFactory()
    incident = IncidentFactory(team_id=team.id)
    report = ReportFactory(team_id=team.id, incident_id=incident.id)
    person = PersonFactory(team_id=team.id, secrets={"full_name": "A", "date_of_birth": "1990"})
    act = ActFactory(team_id=team.id, incident_id=incident.id, person_id=person.id)
    action = AdvocacyActionFactory(team_id=team.id)
    link = ActionLinkFactory(action_id=action.id, report_id=report.id)
    for kind, record in [
        (INCIDENT, incident),
        (REPORT, report),
        (PERSON, person),
        (ACT, act),
        (ACTION_LINK, link),
    ]:
        _round_trip(kind, record, app, db_session)


def test_keys_no_one_writes_are_dropped_and_unknown_ones_kept_for_the_validator() -> None:
    raw = documents.writable(
        REPORT,
        {"id": "x", "reference": "RPT-2017-0001", "created_at": "…", "sealed": [], "colour": 1},
        lambda _email: None,
    )
    assert raw == {"colour": 1}
