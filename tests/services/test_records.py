"""The record registry's generic create and update, on SQLite and PostgreSQL: the
permission in the record's team, the one validator, links kept within the team, sealing,
blind-index upkeep, the optimistic lock, and one audit event naming fields, not values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from incidents.models import AdvocacyAction, Incident, Person, Report, Team, User
from incidents.models.vocabularies import DatePrecision, Role
from incidents.records.kinds import (
    ACT,
    ACTION_RESPONSE,
    ADVOCACY_ACTION,
    CONSENT,
    INCIDENT,
    INVOLVEMENT,
    PERSON,
    REPORT,
    SOURCE,
)
from incidents.services import erasure, records
from incidents.services.incidents import list_incidents
from incidents.services.person_matching import search_people
from tests.factories import IncidentFactory, SourceFactory, TeamFactory, UserFactory
from tests.helpers import count_events, events

NARRATIVE = "CANARY-record-narrative-4T7"


@dataclass
class Desk:
    team: Team
    other: Team
    researcher: User
    advocate: User
    stranger: User  # a researcher of the other team


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()
    return Desk(
        team,
        other,
        UserFactory(role=Role.RESEARCHER, teams=[team]),
        UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]),
        UserFactory(role=Role.RESEARCHER, teams=[other]),
    )


def _incident(ctx: Context, team: Team, **values: object) -> Incident:
    entered = {
        "title": "Detentions at a checkpoint",
        "narrative": NARRATIVE,
        "start_date": "2017-03",
    }
    incident: Incident = records.create(ctx, INCIDENT, {**entered, **values}, team_id=team.id)
    return incident


def test_a_researcher_creates_an_incident_sealed_and_audited(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team, violation_types=["abduction"], estimated_victims="12")
    assert incident.reference.startswith("INC-2017-")
    assert incident.start_precision is DatePrecision.MONTH
    assert incident.violation_types[0].value == "abduction"
    assert isinstance(incident.narrative, bytes) and NARRATIVE.encode() not in incident.narrative
    assert ctx.vault.unseal(incident, "narrative") == {"narrative": NARRATIVE}
    [event] = events(db_session, AuditAction.RECORD_CREATE, incident)
    assert event.actor == desk.researcher.email
    assert set(event.fields) == {
        "title",
        "narrative",
        "start_date",
        "violation_types",
        "estimated_victims",
    }
    assert NARRATIVE not in str(event.detail)


def test_who_may_create_where(desk: Desk, context_for: Callable[..., Context]) -> None:
    with pytest.raises(PermissionDenied):
        _incident(context_for(desk.advocate), desk.team)
    with pytest.raises(NotFound):
        _incident(context_for(desk.stranger), desk.team)
    with pytest.raises(NotFound):  # nobody is in no team: the team does not exist for them
        _incident(context_for(None), desk.team)


def test_links_stay_within_the_team(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    ours = SourceFactory(team_id=desk.team.id)
    theirs = SourceFactory(team_id=desk.other.id)
    entered = {"title": "An account", "received_on": "2017-04-20", "channel": "interview"}
    report: Report = records.create(
        ctx,
        REPORT,
        {**entered, "source": ours.reference, "incident": incident.reference.lower()},
        team_id=desk.team.id,
    )
    assert (report.source_id, report.incident_id) == (ours.id, incident.id)
    assert report.reference.startswith("RPT-2017-")
    before = db_session.scalars(select(Report.id)).all()
    with pytest.raises(ValidationError) as refused:
        records.create(ctx, REPORT, {**entered, "source": theirs.reference}, team_id=desk.team.id)
    # Another team's source is refused exactly like a source that does not exist.
    assert refused.value.errors["source"] == (
        f"There is no source {theirs.reference} in this team; check the reference."
    )
    with pytest.raises(ValidationError) as missing:
        records.create(ctx, REPORT, {**entered, "source": "SRC-9999"}, team_id=desk.team.id)
    assert (
        missing.value.errors["source"].replace("SRC-9999", theirs.reference)
        == (refused.value.errors["source"])
    )
    assert db_session.scalars(select(Report.id)).all() == before


def test_an_update_writes_what_changed_and_names_it(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    version = incident.lock_version
    outcome = records.update(
        ctx,
        INCIDENT,
        incident.reference,
        {"title": "A new title", "narrative": "A new account.", "start_date": "2017-03"},
        lock_version=version,
    )
    assert outcome.changed == ("title", "narrative")
    assert incident.lock_version == version + 1
    assert ctx.vault.unseal(incident, "narrative") == {"narrative": "A new account."}
    [event] = events(db_session, AuditAction.RECORD_UPDATE, incident)
    assert sorted(event.fields) == ["narrative", "title"]
    assert "A new" not in str(event.detail)


def test_an_update_that_changes_nothing_writes_nothing_but_records_the_decryption(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    version = incident.lock_version
    outcome = records.update(
        ctx, INCIDENT, incident.reference, {"narrative": NARRATIVE}, lock_version=version
    )
    assert outcome.changed == ()
    assert incident.lock_version == version
    assert count_events(db_session, AuditAction.RECORD_UPDATE, incident) == 0
    [decrypted] = events(db_session, AuditAction.SECRET_DECRYPT, incident)
    assert decrypted.fields == ["narrative"]
    assert decrypted.detail == {"purpose": "edit"}


def test_an_edit_from_an_old_version_is_a_conflict_that_keeps_both(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    opened = incident.lock_version
    records.update(ctx, INCIDENT, incident.reference, {"title": "First"}, lock_version=opened)
    typed = {"title": "Second", "summary": "What the late editor typed."}
    with pytest.raises(EditConflict) as conflict:
        records.update(ctx, INCIDENT, incident.reference, typed, lock_version=opened)
    assert (conflict.value.edited_version, conflict.value.current_version) == (opened, opened + 1)
    assert conflict.value.submitted == typed
    assert incident.title == "First"


def test_an_update_is_checked_like_a_creation(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    with pytest.raises(ValidationError) as refused:
        records.update(
            ctx,
            INCIDENT,
            incident.reference,
            {"end_date": "2016"},
            lock_version=incident.lock_version,
        )
    assert refused.value.errors == {"end_date": "The end cannot be before the start."}
    with pytest.raises(PermissionDenied):
        records.update(
            context_for(desk.advocate),
            INCIDENT,
            incident.reference,
            {"title": "x"},
            lock_version=incident.lock_version,
        )
    with pytest.raises(NotFound):
        records.update(
            context_for(desk.stranger),
            INCIDENT,
            incident.reference,
            {"title": "x"},
            lock_version=incident.lock_version,
        )


def test_renaming_a_person_moves_their_blind_index_entries(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    person: Person = records.create(
        ctx,
        PERSON,
        {"full_name": "Zelimkhan Demoev", "date_of_birth": "1990"},
        team_id=desk.team.id,
    )
    assert [m.reference for m in search_people(ctx, "Zelimhan")] == [person.reference]
    records.update(
        ctx,
        PERSON,
        person.reference,
        {"full_name": "Aslan Primerov"},
        lock_version=person.lock_version,
    )
    assert search_people(ctx, "Zelimkhan Demoev") == []
    assert [m.reference for m in search_people(ctx, "Primerov")] == [person.reference]
    assert [m.reference for m in search_people(ctx, "1990")] == [person.reference]


def test_an_erased_record_cannot_be_changed(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    source = records.create(
        ctx, SOURCE, {"kind": "witness", "identity": "A name"}, team_id=desk.team.id
    )
    erasure.erase_record(ctx, source.reference, "consent_withdrawn")
    with pytest.raises(ValidationError, match="was erased"):
        records.update(
            ctx, SOURCE, source.reference, {"kind": "victim"}, lock_version=source.lock_version
        )
    with pytest.raises(ValidationError) as linked:
        records.create(
            ctx,
            REPORT,
            {
                "title": "t",
                "received_on": "2017-01-02",
                "channel": "media",
                "source": source.reference,
            },
            team_id=desk.team.id,
        )
    assert "was erased" in linked.value.errors["source"]


def test_a_record_without_a_team_of_its_own_takes_its_parents(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    advocate = context_for(desk.advocate)
    action: AdvocacyAction = records.create(
        advocate,
        ADVOCACY_ACTION,
        {
            "kind": "petition",
            "title": "A petition",
            "start_date": "2017-06-02",
            "signatures": "177000",
        },
        team_id=desk.team.id,
    )
    assert action.reference == f"ACT-2017-{action.reference[-4:]}"
    response = records.create(
        advocate, ACTION_RESPONSE, {"action": str(action.id), "kind": "denial", "text": "Denied."}
    )
    assert response.action_id == action.id
    outsider = UserFactory(role=Role.ADVOCACY_LEAD, teams=[desk.other])
    with pytest.raises(ValidationError) as refused:
        records.create(
            context_for(outsider), ACTION_RESPONSE, {"action": str(action.id), "kind": "denial"}
        )
    assert set(refused.value.errors) == {"action"}
    with pytest.raises(PermissionDenied):  # a researcher reads the action but plans no advocacy
        records.create(
            context_for(desk.researcher),
            ACTION_RESPONSE,
            {"action": str(action.id), "kind": "denial"},
        )


def test_a_record_is_found_by_reference_or_id_within_the_team(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    ctx = context_for(desk.researcher)
    assert records.find(ctx, INCIDENT, incident.reference) is incident
    assert records.find(ctx, INCIDENT, str(incident.id)) is incident
    assert records.find(ctx, INCIDENT, incident.id) is incident
    for key in ("INC-2017-9999", "not an id", str(desk.team.id)):
        with pytest.raises(NotFound):
            records.find(ctx, INCIDENT, key)
    with pytest.raises(NotFound):
        records.find(context_for(desk.stranger), INCIDENT, incident.reference)


def test_what_was_erased_with_a_person_can_be_neither_changed_nor_extended(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    person = records.create(ctx, PERSON, {"full_name": "Timur Fiktivov"}, team_id=desk.team.id)
    incident = _incident(ctx, desk.team)
    act = records.create(
        ctx,
        ACT,
        {"person": person.reference, "incident": incident.reference, "act_type": "detained"},
        team_id=desk.team.id,
    )
    consent = records.create(
        ctx,
        CONSENT,
        {"person": person.reference, "use": "keep_in_database", "granted_on": "2017-04-20"},
        team_id=desk.team.id,
    )
    erasure.erase_record(ctx, person.reference, "consent_withdrawn")
    for kind, record in ((ACT, act), (CONSENT, consent)):
        with pytest.raises(ValidationError, match="was erased"):
            records.update(
                ctx, kind, record.id, {"notes": "A village name."}, lock_version=record.lock_version
            )
        assert record.notes is None  # no new secret under a shredded key
    with pytest.raises(ValidationError) as refused:
        records.create(
            ctx,
            INVOLVEMENT,
            {"act": str(act.id), "perpetrator_names": "A name"},
            team_id=desk.team.id,
        )
    assert "was erased" in refused.value.errors["act"]


def test_comparing_secrets_for_an_edit_is_a_recorded_decryption(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    ctx = context_for(desk.researcher)
    person = records.create(
        ctx, PERSON, {"full_name": "Movsar Demoev", "date_of_birth": "1991"}, team_id=desk.team.id
    )
    records.update(
        ctx,
        PERSON,
        person.reference,
        {"aliases": "Мовсар Демоев"},
        lock_version=person.lock_version,
    )
    [decrypted] = events(db_session, AuditAction.SECRET_DECRYPT, person)
    # The aliases, and the other indexed fields the new entries are made from.
    assert decrypted.fields == ["aliases", "date_of_birth", "full_name"]
    [updated] = events(db_session, AuditAction.RECORD_UPDATE, person)
    assert updated.fields == ["aliases"]


def test_the_events_of_a_record_without_a_team_are_its_parents(
    desk: Desk, context_for: Callable[..., Context], db_session: Session
) -> None:
    advocate = context_for(desk.advocate)
    action = records.create(
        advocate, ADVOCACY_ACTION, {"kind": "letter", "title": "A letter"}, team_id=desk.team.id
    )
    response = records.create(
        advocate, ACTION_RESPONSE, {"action": str(action.id), "kind": "no_response"}
    )
    [created] = events(db_session, AuditAction.RECORD_CREATE, response)
    assert created.team_id == desk.team.id  # so another team's auditors never see it


def test_changing_only_a_list_moves_the_lock_on(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team, violation_types=["abduction"])
    opened = incident.lock_version
    outcome = records.update(
        ctx, INCIDENT, incident.reference, {"violation_types": ["killing"]}, lock_version=opened
    )
    assert outcome.changed == ("violation_types",)
    assert incident.lock_version == opened + 1
    with pytest.raises(EditConflict):
        records.update(
            ctx, INCIDENT, incident.reference, {"violation_types": ["threats"]}, lock_version=opened
        )


def test_emptying_what_a_record_cannot_be_without_is_refused_not_a_500(
    desk: Desk, context_for: Callable[..., Context]
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    with pytest.raises(ValidationError) as refused:
        records.update(
            ctx,
            INCIDENT,
            incident.reference,
            {"status": "", "title": " "},
            lock_version=incident.lock_version,
        )
    assert refused.value.errors == {"title": "Enter a title.", "status": "Choose a status."}
    source = records.create(ctx, SOURCE, {"kind": "ngo", "reliability": ""}, team_id=desk.team.id)
    assert source.reliability.value == "F"  # left empty at creation: the default


def test_the_operator_reads_every_team(
    desk: Desk, context_for: Callable[..., Context], ctx: Context
) -> None:
    ours = IncidentFactory(team_id=desk.team.id)
    theirs = IncidentFactory(team_id=desk.other.id)
    listed = {row.reference for row in list_incidents(ctx, limit=500).incidents}
    assert {ours.reference, theirs.reference} <= listed
    researcher = {row.reference for row in list_incidents(context_for(desk.researcher)).incidents}
    assert ours.reference in researcher and theirs.reference not in researcher
