"""Related-case suggestions: found through the blind index, confirmed by decryption, for
the team's researchers only, within the window, never of another team or an erased
record; dismissed per pair and reason, audited, and undone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import BlindIndexEntry, Incident, Team, User
from incidents.models.suggestion import SuggestionReason
from incidents.models.vocabularies import DatePrecision, Role
from incidents.records.kinds import INCIDENT, PERSON
from incidents.services import blind_indexing, related_cases, suggestion_dismissals
from incidents.services.erasure import erase_record
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
from tests.helpers import count_events

ContextFor = Callable[..., Context]
_places = iter(range(10**6))


def incident(
    team: Team,
    day: dt.date | None = dt.date(2017, 3, 10),
    *,
    units: str | None = None,
    names: str | None = None,
    place: str | None = None,
    precision: DatePrecision = DatePrecision.DAY,
) -> Incident:
    """An incident of `team` on `day` (None: undated) whose one perpetrator has `units` and
    `names`; its place is `place`, or one no other incident has."""
    made = IncidentFactory(
        team_id=team.id,
        start_date=day,
        start_precision=precision if day else DatePrecision.UNKNOWN,
        secrets={"narrative": "An account.", "place_detail": place or f"Place {next(_places)}"},
    )
    if units or names:
        act = ActFactory(team_id=team.id, incident_id=made.id)
        InvolvementFactory(
            team_id=team.id, act_id=act.id, secrets={"units": units, "perpetrator_names": names}
        )
    return made


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory()


@pytest.fixture
def researcher(team: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[team])


def suggested(ctx: Context, subject: Incident) -> dict[str, set[SuggestionReason]]:
    section = related_cases.for_incident(ctx, view_incident(ctx, subject.reference))
    assert section is not None
    return {s.reference: set(s.reasons) for s in section.suggestions}


def test_the_same_unit_spelled_two_ways_is_suggested_and_another_unit_is_not(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="3rd Bn, 42nd Regt")
    same = incident(team, dt.date(2017, 3, 20), units="3 BATTALION 42 regiment")
    cyrillic = incident(team, dt.date(2017, 3, 1), units="Батальон «Север»")
    latin = incident(team, dt.date(2017, 3, 2), units="Sever Battalion")
    other = incident(team, dt.date(2017, 3, 12), units="5th Brigade")
    found = suggested(context_for(researcher), subject)
    assert found == {same.reference: {SuggestionReason.SAME_UNIT}}
    assert other.reference not in found
    assert suggested(context_for(researcher), cyrillic) == {
        latin.reference: {SuggestionReason.SAME_UNIT}
    }


def test_the_reason_shows_this_pages_own_value_never_the_others(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="Demo Special Unit No. 0\nTraffic police")
    incident(team, dt.date(2017, 3, 11), units="DEMO SPEC. UNIT #0")
    ctx = context_for(researcher)
    section = related_cases.for_incident(ctx, view_incident(ctx, subject.reference))
    assert section is not None
    [suggestion] = section.suggestions
    assert [(s.label, s.value) for s in suggestion.shared] == [
        ("same unit", "Demo Special Unit No. 0")
    ]


def test_places_and_perpetrators_names_are_reasons_of_their_own(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, names="Petr Ivanov", place="Checkpoint 7, road to Primer-Gorsk")
    both = incident(
        team,
        dt.date(2017, 3, 30),
        names="IVANOV, Petr",
        place="checkpoint 7 road to primer gorsk.",
    )
    found = suggested(context_for(researcher), subject)
    assert found == {
        both.reference: {SuggestionReason.SAME_PERPETRATOR_NAME, SuggestionReason.SAME_PLACE}
    }


def test_outside_the_window_is_not_suggested_and_precision_widens_the_dates(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, dt.date(2017, 3, 1), units="OMON", precision=DatePrecision.MONTH)
    inside = incident(team, dt.date(2017, 4, 28), units="omon")  # March, then 30 days
    incident(team, dt.date(2017, 5, 3), units="OMON")
    incident(team, dt.date(2017, 1, 25), units="OMON")
    longer = IncidentFactory(
        team_id=team.id,
        start_date=dt.date(2016, 6, 1),
        start_precision=DatePrecision.DAY,
        end_date=dt.date(2017, 2, 14),
        end_precision=DatePrecision.DAY,
        secrets={"narrative": "x", "place_detail": "Far away"},
    )
    act = ActFactory(team_id=team.id, incident_id=longer.id)
    InvolvementFactory(team_id=team.id, act_id=act.id, secrets={"units": "Omon"})
    assert suggested(context_for(researcher), subject) == {
        inside.reference: {SuggestionReason.SAME_UNIT},
        longer.reference: {SuggestionReason.SAME_UNIT},
    }


def test_undated_incidents_are_compared_without_a_window(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="Kadyrovtsy")
    undated = incident(team, None, units="kadyrovtsy")
    incident(team, dt.date(2010, 1, 1), units="Kadyrovtsy")  # dated, far away
    ctx = context_for(researcher)
    section = related_cases.for_incident(ctx, view_incident(ctx, subject.reference))
    assert section is not None
    assert [(s.reference, s.undated) for s in section.suggestions] == [(undated.reference, True)]
    found = suggested(ctx, undated)
    assert subject.reference in found and len(found) == 2


def test_another_teams_incident_is_never_suggested(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="Sever battalion", place="The old dairy")
    elsewhere = TeamFactory()
    incident(elsewhere, units="Sever battalion", place="The old dairy")
    both = UserFactory(role=Role.RESEARCHER, teams=[team, elsewhere])
    assert suggested(context_for(researcher), subject) == {}
    assert suggested(context_for(both), subject) == {}


def test_other_roles_get_no_section_at_all(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="Sever battalion")
    incident(team, units="Sever battalion")
    for role in (Role.ADVOCACY_LEAD, Role.AUDITOR):
        ctx = context_for(UserFactory(role=role, teams=[team]))
        assert related_cases.for_incident(ctx, view_incident(ctx, subject.reference)) is None


def test_candidates_are_decrypted_and_audited_and_a_collision_is_dropped(
    team: Team, researcher: User, context_for: ContextFor, db_session: Session
) -> None:
    subject = incident(team, units="Sever battalion")
    same = incident(team, units="Sever battalion")
    impostor = incident(team, units="Yug battalion")
    # The impostor's entry made equal to the subject's, as a truncated index may collide.
    db_session.execute(
        delete(BlindIndexEntry).where(BlindIndexEntry.index_name == "perpetrator_unit")
    )
    ctx = context_for(researcher)
    for made in (subject, same, impostor):
        for act in made_acts(db_session, made):
            for involvement in act.involvements:
                blind_indexing.index_record(
                    ctx, involvement, {"units": "Sever battalion", "perpetrator_names": None}
                )
    before = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
    assert suggested(ctx, subject) == {same.reference: {SuggestionReason.SAME_UNIT}}
    after = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
    # The page opens its incident, act and perpetrator; then the two candidates, one each.
    assert after - before == 3 + 2


def made_acts(session: Session, made: Incident) -> list[Any]:
    from incidents.models import Act

    return list(session.query(Act).filter(Act.incident_id == made.id))


def test_an_erased_incident_or_person_is_never_suggested(
    team: Team, researcher: User, context_for: ContextFor, ctx: Context
) -> None:
    subject = incident(team, units="Sever battalion", place="The old dairy")
    erased = incident(team, units="Sever battalion", place="The old dairy")
    by_person = incident(team, units="Sever battalion")
    assert suggested(context_for(researcher), subject).keys() == {
        erased.reference,
        by_person.reference,
    }
    erase_record(ctx, erased.reference, "duplicate")
    [act] = made_acts(ctx.session, by_person)
    erase_record(ctx, act.person.reference, "consent_withdrawn")
    assert suggested(context_for(researcher), subject) == {}


def test_reindex_builds_the_new_entries_of_records_made_before_them(
    team: Team, researcher: User, context_for: ContextFor, ctx: Context, db_session: Session
) -> None:
    subject = incident(team, units="Sever battalion", place="The old dairy")
    other = incident(team, units="sever  BATTALION", place="the old dairy")
    for index in ("perpetrator_unit", "perpetrator_name", "incident_place"):
        db_session.execute(delete(BlindIndexEntry).where(BlindIndexEntry.index_name == index))
    assert suggested(context_for(researcher), subject) == {}
    outcome = blind_indexing.reindex_all(ctx)
    assert outcome.records["incidents"] >= 2 and outcome.records["involvements"] >= 2
    assert suggested(context_for(researcher), subject) == {
        other.reference: {SuggestionReason.SAME_UNIT, SuggestionReason.SAME_PLACE}
    }


def test_a_dismissal_sticks_from_both_sides_is_audited_and_can_be_undone(
    team: Team, researcher: User, context_for: ContextFor, db_session: Session
) -> None:
    subject = incident(team, units="Sever battalion", place="The old dairy")
    other = incident(team, units="Sever battalion", place="The old dairy")
    ctx = context_for(researcher)
    made = suggestion_dismissals.dismiss(
        ctx, INCIDENT, subject.reference, other.reference, ["same_unit"]
    )
    assert made == 1
    assert count_events(db_session, AuditAction.SUGGESTION_DISMISS, target=subject) == 1
    # The place is still shared: the pair stays, for that reason alone, on both pages.
    assert suggested(ctx, subject) == {other.reference: {SuggestionReason.SAME_PLACE}}
    assert suggested(ctx, other) == {subject.reference: {SuggestionReason.SAME_PLACE}}
    suggestion_dismissals.dismiss(ctx, INCIDENT, other.reference, subject.reference, ["same_place"])
    assert suggested(ctx, subject) == {}
    section = related_cases.for_incident(ctx, view_incident(ctx, subject.reference))
    assert section is not None
    assert {(d.reference, d.reason) for d in section.dismissed} == {
        (other.reference, SuggestionReason.SAME_UNIT),
        (other.reference, SuggestionReason.SAME_PLACE),
    }
    # Dismissing again changes nothing and records nothing.
    assert (
        suggestion_dismissals.dismiss(
            ctx, INCIDENT, subject.reference, other.reference, ["same_unit"]
        )
        == 0
    )
    assert count_events(db_session, AuditAction.SUGGESTION_DISMISS) == 2
    assert (
        suggestion_dismissals.restore(
            ctx, INCIDENT, subject.reference, other.reference, ["same_unit"]
        )
        == 1
    )
    assert count_events(db_session, AuditAction.SUGGESTION_RESTORE, target=subject) == 1
    assert suggested(ctx, subject) == {other.reference: {SuggestionReason.SAME_UNIT}}


def test_dismissing_names_a_record_of_the_team_and_a_reason(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    subject = incident(team, units="Sever battalion")
    elsewhere = incident(TeamFactory(), units="Sever battalion")
    ctx = context_for(researcher)
    for other, reasons, field in (
        (elsewhere.reference, ["same_unit"], "other"),
        ("INC-2017-9999", ["same_unit"], "other"),
        (subject.reference, ["same_unit"], "other"),
        (None, ["same_unit"], "other"),
        (incident(team).reference, ["same_person_name"], "reason"),
        (incident(team).reference, [], "reason"),
    ):
        with pytest.raises(ValidationError) as refused:
            suggestion_dismissals.dismiss(ctx, INCIDENT, subject.reference, other, reasons)
        assert set(refused.value.errors or {}) == {field}, other
    # Only the team's researchers may dismiss: another team's incident is not found.
    with pytest.raises(NotFound):
        suggestion_dismissals.dismiss(
            ctx, INCIDENT, elsewhere.reference, subject.reference, ["same_unit"]
        )
    lead = context_for(UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]))
    with pytest.raises(PermissionDenied):
        suggestion_dismissals.dismiss(lead, INCIDENT, subject.reference, None, ["same_unit"])


def test_a_persons_page_suggests_the_incidents_of_others_of_the_same_name(
    team: Team, researcher: User, context_for: ContextFor
) -> None:
    person = PersonFactory(team_id=team.id, secrets={"full_name": "Movsar Demoev"})
    ActFactory(team_id=team.id, person_id=person.id, incident_id=incident(team).id)
    namesake = PersonFactory(
        team_id=team.id, secrets={"full_name": "Someone", "aliases": "Мовсар Демоев"}
    )
    theirs = incident(team, dt.date(2019, 1, 1))
    ActFactory(team_id=team.id, person_id=namesake.id, incident_id=theirs.id)
    stranger = PersonFactory(team_id=team.id, secrets={"full_name": "Movsar Umarov"})
    ActFactory(team_id=team.id, person_id=stranger.id, incident_id=incident(team).id)
    elsewhere = TeamFactory()
    far = PersonFactory(team_id=elsewhere.id, secrets={"full_name": "Movsar Demoev"})
    ActFactory(team_id=elsewhere.id, person_id=far.id, incident_id=incident(elsewhere).id)
    ctx = context_for(researcher)
    section = related_cases.for_person(ctx, view_person(ctx, person.reference))
    assert section is not None
    assert [(s.reference, s.incidents, s.reasons) for s in section.suggestions] == [
        (namesake.reference, (theirs.reference,), (SuggestionReason.SAME_PERSON_NAME,))
    ]
    assert [s.value for s in section.suggestions[0].shared] == ["Movsar Demoev"]
    suggestion_dismissals.dismiss(
        ctx, PERSON, namesake.reference, person.reference, ["same_person_name"]
    )
    section = related_cases.for_person(ctx, view_person(ctx, person.reference))
    assert section is not None and section.suggestions == ()
    assert [d.reference for d in section.dismissed] == [namesake.reference]
