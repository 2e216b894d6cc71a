"""The advocacy dashboard's figures on SQLite and PostgreSQL: incidents per month, type
and region; actions per month by impact; follow-ups overdue and due soon; consent
coverage as consent_uses.allows decides it — all over the reader's teams only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from incidents.context import Context
from incidents.errors import PermissionDenied, ValidationError
from incidents.models import IncidentViolation, Report, Team, User
from incidents.models.vocabularies import (
    ConsentUse,
    DatePrecision,
    Impact,
    Role,
    ViolationType,
)
from incidents.services import consent_uses, erasure
from incidents.services import dashboard as service
from incidents.services.consent import today
from tests.factories import (
    ActFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    FollowUpFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)

ContextFor = Callable[..., Context]
DAY = dt.date(2017, 7, 10)


@pytest.fixture
def team(ctx: Context) -> Team:
    return TeamFactory()


@pytest.fixture
def lead(team: Team) -> User:
    return UserFactory(role=Role.ADVOCACY_LEAD, teams=[team], display_name="Lead Lina")


def _types(*types: ViolationType) -> list[IncidentViolation]:
    return [IncidentViolation(violation_type=t) for t in types]


def _series(chart: service.MonthChart) -> dict[str, tuple[int, ...]]:
    return {s.key: s.values for s in chart.series}


def test_incidents_per_month_by_type_and_region(
    team: Team, lead: User, context_for: ContextFor
) -> None:
    march = dt.date(2017, 3, 1)
    IncidentFactory(team_id=team.id, start_date=march, violations=_types(ViolationType.ABDUCTION))
    IncidentFactory(
        team_id=team.id,
        start_date=dt.date(2017, 3, 20),
        start_precision=DatePrecision.DAY,
        violations=_types(ViolationType.ABDUCTION, ViolationType.TORTURE),
    )
    IncidentFactory(
        team_id=team.id,
        start_date=dt.date(2017, 5, 2),
        violations=_types(ViolationType.KILLING),
        region="Moscow",
    )
    # Dated to the year only: counted as undated, never placed in a month.
    IncidentFactory(team_id=team.id, start_date=march, start_precision=DatePrecision.YEAR)
    IncidentFactory(team_id=TeamFactory().id, start_date=march)  # another team's

    view = service.dashboard(context_for(lead), on=DAY)

    assert (view.start, view.end) == ("2017-03", "2017-05")
    assert view.incidents.months == ("2017-03", "2017-04", "2017-05")
    assert _series(view.incidents) == {
        "abduction": (2, 0, 0),
        "torture_or_ill_treatment": (1, 0, 0),
        "killing": (0, 0, 1),
    }
    assert view.incidents.totals == (2, 0, 1)  # the incident of two types counts once
    assert view.incidents.undated == 1
    assert [(r.country, r.region, r.incidents) for r in view.regions] == [
        ("RU", "Chechen Republic", 3),
        ("RU", "Moscow", 1),
    ]


def test_a_range_chosen_and_a_range_refused(
    team: Team, lead: User, context_for: ContextFor
) -> None:
    IncidentFactory(team_id=team.id, start_date=dt.date(2017, 3, 1))
    IncidentFactory(team_id=team.id, start_date=dt.date(2016, 12, 1))
    ctx = context_for(lead)

    view = service.dashboard(ctx, "2016-11", "2017-01", on=DAY)
    assert view.incidents.months == ("2016-11", "2016-12", "2017-01")
    assert view.incidents.totals == (0, 1, 0)

    for start, end, field in (
        ("2017-13", "2017-12", "from"),
        ("2017-03", "03/2017", "to"),
        ("2017-05", "2017-03", "to"),
        ("2017-03", None, "to"),
        ("2000-01", "2017-01", "to"),  # more than ten years at once
    ):
        with pytest.raises(ValidationError) as refused:
            service.dashboard(ctx, start, end, on=DAY)
        assert field in refused.value.errors


def test_the_default_range_is_the_last_24_months_with_data(
    team: Team, lead: User, context_for: ContextFor
) -> None:
    IncidentFactory(team_id=team.id, start_date=dt.date(2012, 1, 1))
    AdvocacyActionFactory(team_id=team.id, start_date=dt.date(2017, 6, 9))

    view = service.dashboard(context_for(lead), on=DAY)

    assert (view.start, view.end) == ("2015-07", "2017-06")
    assert len(view.incidents.months) == 24
    assert sum(view.incidents.totals) == 0  # 2012 is outside


def test_actions_per_month_by_impact(team: Team, lead: User, context_for: ContextFor) -> None:
    for start, impact in (
        (dt.date(2017, 5, 1), Impact.POSITIVE),
        (dt.date(2017, 5, 20), Impact.POSITIVE),
        (dt.date(2017, 5, 21), Impact.NEGATIVE),
        (dt.date(2017, 6, 1), Impact.UNKNOWN),
        (None, Impact.STRONG_POSITIVE),
    ):
        AdvocacyActionFactory(team_id=team.id, start_date=start, impact=impact)
    AdvocacyActionFactory(team_id=TeamFactory().id, impact=Impact.NEUTRAL)

    view = service.dashboard(context_for(lead), on=DAY)

    assert view.actions.months == ("2017-05", "2017-06")
    assert _series(view.actions) == {
        "positive": (2, 0),
        "negative": (1, 0),
        "unknown": (0, 1),
    }
    assert view.actions.totals == (3, 1)
    assert view.actions.undated == 1


def test_follow_ups_overdue_and_due_in_the_next_14_days(
    team: Team, lead: User, context_for: ContextFor
) -> None:
    action = AdvocacyActionFactory(team_id=team.id)
    later = AdvocacyActionFactory(team_id=team.id)
    FollowUpFactory(action_id=action.id, due_on=DAY - dt.timedelta(days=3), description="Late")
    FollowUpFactory(action_id=later.id, due_on=DAY, description="Today", assignee_id=lead.id)
    FollowUpFactory(action_id=action.id, due_on=DAY + dt.timedelta(days=14), description="Edge")
    FollowUpFactory(action_id=action.id, due_on=DAY + dt.timedelta(days=15), description="Far")
    FollowUpFactory(action_id=action.id, due_on=None, description="Someday")
    FollowUpFactory(
        action_id=action.id,
        due_on=DAY - dt.timedelta(days=9),
        done_at=dt.datetime(2017, 7, 1, tzinfo=dt.UTC),
        description="Done",
    )
    elsewhere = AdvocacyActionFactory(team_id=TeamFactory().id)
    FollowUpFactory(action_id=elsewhere.id, due_on=DAY, description="Not ours")

    view = service.dashboard(context_for(lead), on=DAY)

    assert [(f.action_reference, f.description) for f in view.overdue] == [
        (action.reference, "Late")
    ]
    assert [(f.description, f.assignee) for f in view.due_soon] == [
        ("Today", "Lead Lina"),
        ("Edge", None),
    ]
    assert view.due_soon[0].action_url == f"/advocacy/actions/{later.reference}"


def _grant(team: Team, use: ConsentUse, **owner: object) -> None:
    if "source_id" in owner:
        owner = {"person_id": None, **owner}
    ConsentFactory(team_id=team.id, use=use, **owner)


def _coverage_mix(ctx: Context, team: Team) -> list[Report]:
    """Reports whose uses differ: no source; a source granting some uses; a revoked and a
    future grant; an incident's people granting all or not; an erased report."""
    anonymised, partners = ConsentUse.ANONYMISED_ADVOCACY, ConsentUse.SHARE_WITH_PARTNERS
    everything = service.ADVOCACY_USES
    generous = SourceFactory(team_id=team.id)
    for use in everything:
        _grant(team, use, source_id=generous.id)
    sparing = SourceFactory(team_id=team.id)
    _grant(team, anonymised, source_id=sparing.id)
    ConsentFactory(
        team_id=team.id,
        source_id=sparing.id,
        person_id=None,
        use=partners,
        revoked_on=dt.date(2017, 5, 1),
    )
    ConsentFactory(
        team_id=team.id,
        source_id=sparing.id,
        person_id=None,
        use=ConsentUse.TRANSFER_TO_UN_OR_COURTS,
        granted_on=today() + dt.timedelta(days=30),
    )
    incident = IncidentFactory(team_id=team.id)
    willing, unsure = PersonFactory(team_id=team.id), PersonFactory(team_id=team.id)
    for person in (willing, unsure):
        ActFactory(team_id=team.id, incident_id=incident.id, person_id=person.id)
    for use in everything:
        _grant(team, use, person_id=willing.id)
    _grant(team, anonymised, person_id=unsure.id)
    _grant(team, partners, person_id=unsure.id)
    quiet = IncidentFactory(team_id=team.id)  # no one with an act: only the source counts
    reports = [
        ReportFactory(team_id=team.id),  # no source: allows nothing
        ReportFactory(team_id=team.id, source_id=generous.id),
        ReportFactory(team_id=team.id, source_id=sparing.id),
        ReportFactory(team_id=team.id, source_id=generous.id, incident_id=incident.id),
        ReportFactory(team_id=team.id, source_id=sparing.id, incident_id=incident.id),
        ReportFactory(team_id=team.id, source_id=generous.id, incident_id=quiet.id),
    ]
    gone = ReportFactory(team_id=team.id, source_id=generous.id)
    erasure.erase_record(ctx, gone.reference, "consent_withdrawn")
    return [*reports, gone]


def test_coverage_agrees_with_consent_uses_allows(
    ctx: Context, team: Team, lead: User, context_for: ContextFor
) -> None:
    reports = _coverage_mix(ctx, team)
    other = TeamFactory()
    stranger = SourceFactory(team_id=other.id)
    _grant(other, ConsentUse.ANONYMISED_ADVOCACY, source_id=stranger.id)
    ReportFactory(team_id=other.id, source_id=stranger.id)
    reader = context_for(lead)

    usable, total = service.usable_report_counts(reader, frozenset({team.id}), today())

    assert total == len(reports) - 1  # the erased one is not counted
    for use in service.ADVOCACY_USES:
        assert usable[use] == sum(1 for r in reports if consent_uses.allows(r, use)), use
    view = service.dashboard(reader)
    assert {row.use: row.usable for row in view.coverage} == {
        ConsentUse.ANONYMISED_ADVOCACY: 5,
        ConsentUse.PUBLISH_WITHOUT_NAME: 2,
        ConsentUse.SHARE_WITH_PARTNERS: 3,
        ConsentUse.TRANSFER_TO_UN_OR_COURTS: 2,
    }
    assert {row.total for row in view.coverage} == {total} == {view.reports}


def test_the_uses_are_those_advocacy_and_summaries_need() -> None:
    assert set(service.ADVOCACY_USES) == {
        ConsentUse.ANONYMISED_ADVOCACY,
        ConsentUse.PUBLISH_WITHOUT_NAME,
        ConsentUse.SHARE_WITH_PARTNERS,
        ConsentUse.TRANSFER_TO_UN_OR_COURTS,
    }


def test_the_admin_may_not_read_the_dashboard(context_for: ContextFor, team: Team) -> None:
    admin = UserFactory(role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        service.dashboard(context_for(admin))
    with pytest.raises(PermissionDenied):
        service.dashboard(context_for(None))
