"""A record's history from the audit log, on SQLite and PostgreSQL: changes and
decryptions named by their field labels, never values; who and when; a report moved to
another incident; erasure; newest first and bounded; who may see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import NotFound
from incidents.models import Incident, Team, User
from incidents.models.vocabularies import Role
from incidents.records.kinds import INCIDENT, PERSON, REPORT
from incidents.services import erasure, people, person_matching, records
from incidents.services.history import History, history_of
from incidents.services.incidents import view_incident
from tests.factories import IncidentFactory, ReportFactory, TeamFactory, UserFactory
from tests.helpers import TEST_OPERATOR, count_statements

ContextFor = Callable[..., Context]
NARRATIVE = "CANARY-history-narrative-5R1"
NEW_NARRATIVE = "CANARY-history-changed-8W3"
TITLE = "CANARY-history-title-2M6"


@dataclass
class Desk:
    team: Team
    researcher: User
    colleague: User
    auditor: User
    advocate: User
    admin: User
    stranger: User  # a researcher of another team
    foreign_auditor: User  # an auditor of another team


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()

    def member(role: Role, of: Team = team) -> User:
        return UserFactory(role=role, teams=[of])

    return Desk(
        team,
        member(Role.RESEARCHER),
        member(Role.RESEARCHER),
        member(Role.AUDITOR),
        member(Role.ADVOCACY_LEAD),
        UserFactory(role=Role.ADMIN, teams=[]),
        member(Role.RESEARCHER, other),
        member(Role.AUDITOR, other),
    )


def _incident(ctx: Context, team: Team) -> Incident:
    entered = {
        "title": "Detentions at a checkpoint",
        "narrative": NARRATIVE,
        "start_date": "2017-03",
    }
    incident: Incident = records.create(ctx, INCIDENT, entered, team_id=team.id)
    return incident


def _history(ctx: Context, kind: object, record: object) -> History:
    history = history_of(ctx, kind, record)  # type: ignore[arg-type]
    assert history is not None
    return history


def _texts(history: History) -> str:
    return repr(history)


def test_changes_and_decryptions_are_named_by_label_newest_first(
    desk: Desk, context_for: ContextFor
) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    records.update(
        ctx,
        INCIDENT,
        incident.reference,
        {"title": TITLE, "narrative": NEW_NARRATIVE, "start_date": "2017-04-02"},
        lock_version=incident.lock_version,
    )
    view_incident(context_for(desk.colleague), incident.reference)

    history = _history(ctx, INCIDENT, incident.reference)

    viewed, changed, compared, created = history.entries
    assert [e.verb for e in history.entries] == ["Decrypted", "Changed", "Decrypted", "Created"]
    assert viewed.fields == ("full account", "precise place")
    assert viewed.purpose == "to show it on a page"
    assert viewed.who == desk.colleague.display_name and viewed.login == desk.colleague.email
    # The date and its precision are one field to a reader; names are labels, not columns.
    assert changed.fields == ("title", "full account", "start date")  # in the form's order
    assert compared.purpose == "to compare an edit with what was stored"
    assert compared.fields == ("full account",)
    assert set(created.fields) >= {"title", "full account", "start date"}
    assert all(e.who == desk.researcher.display_name for e in (changed, compared, created))
    assert [e.when for e in history.entries] == sorted(
        (e.when for e in history.entries), reverse=True
    )
    assert history.events == 4 and not history.more
    for value in (NARRATIVE, NEW_NARRATIVE, TITLE, "narrative", "place_detail"):
        assert value not in _texts(history)


def test_the_operator_is_named_as_the_log_names_them(desk: Desk, ctx: Context) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    [created] = _history(ctx, INCIDENT, incident).entries
    assert created.who == TEST_OPERATOR.label == "cli:tests"
    assert created.login is None


def test_a_report_moved_to_another_incident_shows_a_change_of_incident(
    desk: Desk, context_for: ContextFor
) -> None:
    ctx = context_for(desk.researcher)
    first, second = (IncidentFactory(team_id=desk.team.id) for _ in range(2))
    report = ReportFactory(team_id=desk.team.id, incident_id=first.id)
    records.update(ctx, REPORT, report.reference, {"incident": second.reference}, lock_version=1)
    moved, created = _history(ctx, REPORT, report).entries
    assert (moved.verb, moved.fields) == ("Changed", ("incident",))
    assert first.reference not in _texts(_history(ctx, REPORT, report))
    assert created.verb == "Created"


def test_an_erasure_is_in_the_history_with_its_reason(desk: Desk, context_for: ContextFor) -> None:
    ctx = context_for(desk.researcher)
    incident = _incident(ctx, desk.team)
    erasure.erase_record(ctx, incident.reference, "duplicate")
    erased = _history(ctx, INCIDENT, incident).entries[0]
    assert erased.verb == "Erased"
    assert erased.reason == "duplicate of another record"
    assert erased.fields == ("full account", "precise place")


def test_a_run_of_the_same_decryption_is_one_entry(desk: Desk, context_for: ContextFor) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    mine, theirs = context_for(desk.researcher), context_for(desk.colleague)
    for ctx in (mine, mine, mine, theirs, mine):
        view_incident(ctx, incident.reference)
    history = _history(mine, INCIDENT, incident)
    runs = [(e.who, e.times) for e in history.entries if e.verb == "Decrypted"]
    me, them = desk.researcher.display_name, desk.colleague.display_name
    assert runs == [(me, 1), (them, 1), (me, 3)]
    assert history.events == 6  # every event is behind the entries
    folded = history.entries[2]
    assert folded.first is not None and folded.first <= folded.when


def test_a_person_search_is_in_the_persons_history(desk: Desk, context_for: ContextFor) -> None:
    ctx = context_for(desk.researcher)
    person = people.create_person(ctx, desk.team.id, {"full_name": "Ruslan Demoev"})
    person_matching.search_people(ctx, "Demoev")
    searched = _history(ctx, PERSON, person).entries[0]
    assert searched.verb == "Decrypted"
    assert searched.purpose == "to confirm a match in a people search"
    assert searched.fields == ("full name", "other names", "date of birth")
    assert "Ruslan" not in _texts(_history(ctx, PERSON, person))


def test_the_history_is_bounded_in_events_and_statements(
    desk: Desk, context_for: ContextFor, app: Flask
) -> None:
    ctx = context_for(desk.researcher)
    incident = IncidentFactory(team_id=desk.team.id)
    readers = [UserFactory(role=Role.RESEARCHER, teams=[desk.team]) for _ in range(4)]
    for reader in readers:  # different people: nothing folds
        view_incident(context_for(reader), incident.reference)
    history = history_of(ctx, INCIDENT, incident, limit=3)
    assert history is not None
    assert history.more and history.events == 3 and len(history.entries) == 3
    assert [e.who for e in history.entries] == [r.display_name for r in reversed(readers[1:])]
    with count_statements(app) as statements:
        history_of(ctx, INCIDENT, incident)
    assert statements.count <= 2, statements  # the events, and their actors' names


@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_writers_and_auditors_of_the_team_see_it(
    role: str, desk: Desk, context_for: ContextFor
) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    user = desk.researcher if role == "researcher" else desk.auditor
    history = history_of(context_for(user), INCIDENT, incident.reference)
    assert history is not None and [e.verb for e in history.entries] == ["Created"]


def test_an_advocacy_lead_of_the_team_gets_nothing(desk: Desk, context_for: ContextFor) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    assert history_of(context_for(desk.advocate), INCIDENT, incident.reference) is None
    assert history_of(context_for(desk.advocate), INCIDENT, incident) is None


@pytest.mark.parametrize("who", ["stranger", "foreign_auditor", "admin", "nobody"])
def test_another_teams_record_has_no_history_for_anyone(
    who: str, desk: Desk, context_for: ContextFor
) -> None:
    incident = IncidentFactory(team_id=desk.team.id)
    ctx = context_for(None if who == "nobody" else getattr(desk, who))
    with pytest.raises(NotFound):
        history_of(ctx, INCIDENT, incident)
    with pytest.raises(NotFound):
        history_of(ctx, INCIDENT, incident.reference)


def test_a_merge_and_its_undoing_name_the_person_kept(desk: Desk, context_for: ContextFor) -> None:
    ctx = context_for(desk.researcher)
    duplicate = people.create_person(ctx, desk.team.id, {"full_name": "Ruslan Demoev"})
    kept = people.create_person(ctx, desk.team.id, {"full_name": "Ruslan Demoyev"})
    # As the merge service writes them (incidents/services/person_merge.py).
    record_event(
        ctx.session, ctx.actor, AuditAction.PERSON_MERGE, duplicate, detail={"into": kept.reference}
    )
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.PERSON_UNMERGE,
        duplicate,
        detail={"from": kept.reference},
    )
    undone, merged, _ = _history(ctx, PERSON, duplicate).entries
    assert (merged.verb, merged.other_reference) == ("Merged into", kept.reference)
    assert (undone.verb, undone.other_reference) == (
        "Merge undone, moved back from",
        kept.reference,
    )


def test_fields_of_dependent_records_and_other_actions_are_named_readably(
    desk: Desk, context_for: ContextFor
) -> None:
    ctx = context_for(desk.researcher)
    person = people.create_person(ctx, desk.team.id, {"full_name": "Ruslan Demoev"})
    record_event(  # as the consent service records opening a person's consent conditions
        ctx.session,
        ctx.actor,
        AuditAction.SECRET_DECRYPT,
        person,
        fields=["consents.notes"],
        detail={"purpose": "consents"},
    )
    record_event(ctx.session, ctx.actor, AuditAction.EVIDENCE_ACCESSED, person)
    accessed, opened, _ = _history(ctx, PERSON, person).entries
    assert (opened.fields, opened.purpose) == (("consent conditions",), "to show its consents")
    assert accessed.verb == "Evidence accessed"
