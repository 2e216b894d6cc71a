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
    ACTION_RESPONSE,
    ADVOCACY_ACTION,
    INCIDENT,
    PERSON,
    REPORT,
    SOURCE,
)
from incidents.services import erasure, records
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
    erasure.erase_record(ctx, source.reference, "consent withdrawn")
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
