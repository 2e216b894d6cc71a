"""The dashboard, the all-cases summary page and the partner export ask the database a
fixed number of statements however many linked reports, people and grants they judge,
and say what the rules of consent say case by case.

Each test counts the statements at two sizes, FEW and MANY cases, on SQLite and
PostgreSQL, then checks the figures against the same rules applied the slow way: one
`consent.allows` per source and per person (no timings: tests/benchmarks has those).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import AdvocacyAction, Incident, Report, Team, User
from incidents.models.vocabularies import ActionKind, ConsentUse, Role
from incidents.redaction import Profile
from incidents.repositories import consents as consent_queries
from incidents.services import consent, erasure, summaries
from incidents.services import dashboard as dashboard_service
from incidents.services.consent_uses import PROFILE_USES, USES_BY_KIND
from incidents.services.export import start_summary_export, write_summary_export
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_statements

FEW, MANY = 5, 40
ContextFor = Callable[..., Context]
SHARED = (ConsentUse.ANONYMISED_ADVOCACY, ConsentUse.SHARE_WITH_PARTNERS)


@dataclass
class World:
    team: Team
    made: int = 0


@pytest.fixture
def world(ctx: Context) -> World:
    return World(TeamFactory())


@pytest.fixture
def lead(world: World) -> User:
    return UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.team])


def _grant(team: Team, use: ConsentUse, **owner: object) -> None:
    if "source_id" in owner:
        owner = {"person_id": None, **owner}
    ConsentFactory(team_id=team.id, use=use, **owner)


def _case(ctx: Context, world: World) -> None:
    """One incident with two people and a report from a source, linked to an action and
    answered: whose consent is missing varies from case to case."""
    n, team = world.made, world.team
    world.made += 1
    incident = IncidentFactory(team_id=team.id, start_date=dt.date(2016, 1 + n % 12, 1))
    StateResponseFactory(team_id=team.id, incident_id=incident.id)
    people = [PersonFactory(team_id=team.id) for _ in range(2)]
    for person in people:
        ActFactory(team_id=team.id, incident_id=incident.id, person_id=person.id)
        for use in SHARED:
            _grant(team, use, person_id=person.id)
    if n % 3 == 1:  # one of the people never agreed to sharing with partners
        ConsentFactory(
            team_id=team.id,
            person_id=PersonFactory(team_id=team.id).id,
            use=ConsentUse.KEEP,
        )
        ActFactory(team_id=team.id, incident_id=incident.id)
    source = SourceFactory(team_id=team.id)
    for use in (*SHARED, ConsentUse.PUBLISH_WITHOUT_NAME)[: 1 + n % 3]:
        _grant(team, use, source_id=source.id)
    report = ReportFactory(team_id=team.id, incident_id=incident.id, source_id=source.id)
    ReportFactory(team_id=team.id, incident_id=incident.id)  # no source: never usable
    if n % 5 == 4:  # a person erased since: allows nothing
        erasure.erase_record(ctx, people[0].reference, "consent_withdrawn")
    kind = (ActionKind.PETITION, ActionKind.PUBLIC_STATEMENT, ActionKind.UN_SUBMISSION)[n % 3]
    action = AdvocacyActionFactory(
        team_id=team.id, kind=kind, start_date=dt.date(2017, 1 + n % 12, 9)
    )
    ActionLinkFactory(action_id=action.id, report_id=report.id)
    ActionResponseFactory(action_id=action.id)


def _grow(ctx: Context, world: World, size: int) -> None:
    while world.made < size:
        _case(ctx, world)


def _allows(session: Session, report: Report, use: ConsentUse) -> bool:
    """The rules the slow way: the source's grant, then each person's, one by one."""
    people = (
        consent_queries.people_of_incident(session, report.incident_id)
        if report.incident_id
        else []
    )
    return consent.allows(report, use) and all(consent.allows(p, use) for p in people)


def _reports(session: Session, team: Team) -> list[Report]:
    return list(session.query(Report).filter(Report.team_id == team.id).order_by(Report.reference))


# -- the dashboard -----------------------------------------------------------------------


def test_the_dashboard_judges_every_linked_report_in_fixed_statements(
    app: Flask, ctx: Context, db_session: Session, world: World, lead: User, context_for: ContextFor
) -> None:
    counts = []
    for size in (FEW, MANY):
        _grow(ctx, world, size)
        with count_statements(app) as seen:
            view = dashboard_service.dashboard(context_for(lead))
        counts.append(seen.count)
        assert view.reports == 2 * size
        flagged = {f.report_reference for f in view.flagged}
        expected = set()
        for action in db_session.query(AdvocacyAction).filter_by(team_id=world.team.id):
            for link in action.links:
                if not all(_allows(db_session, link.report, u) for u in USES_BY_KIND[action.kind]):
                    expected.add(link.report.reference)
        assert flagged == expected
        assert 0 < len(flagged) < size  # some of each, or the comparison says little
        reports = _reports(db_session, world.team)
        for row in view.coverage:
            assert row.usable == sum(1 for r in reports if _allows(db_session, r, row.use))
    assert counts[0] == counts[1], counts


def test_the_dashboard_charts_count_what_the_records_say(
    ctx: Context, db_session: Session, world: World, lead: User, context_for: ContextFor
) -> None:
    _grow(ctx, world, 14)
    IncidentFactory(team_id=world.team.id, start_date=None)  # not charted: undated
    gone = IncidentFactory(team_id=world.team.id, start_date=dt.date(2016, 2, 1))
    erasure.erase_record(ctx, gone.reference, "duplicate")
    AdvocacyActionFactory(team_id=world.team.id, start_date=None)

    view = dashboard_service.dashboard(context_for(lead), "2016-01", "2017-12")

    incidents = db_session.query(Incident).filter(Incident.team_id == world.team.id).all()
    dated = [i for i in incidents if i.start_date is not None and i.id != gone.id]
    per_month = {
        month: sum(1 for i in dated if f"{i.start_date:%Y-%m}" == month)
        for month in view.incidents.months
    }
    assert dict(zip(view.incidents.months, view.incidents.totals, strict=True)) == per_month
    assert view.incidents.undated == 1
    actions = db_session.query(AdvocacyAction).filter_by(team_id=world.team.id).all()
    started = [a.start_date for a in actions if a.start_date is not None]
    assert sum(view.actions.totals) == len(started) == 14
    assert view.actions.undated == 1


# -- summaries -----------------------------------------------------------------------------


def _expected_counts(session: Session, world: World, profile: Profile) -> dict[str, int]:
    """Reports each case may count under `profile`, found the slow way."""
    use = PROFILE_USES[profile]
    counted: dict[str, int] = {}
    for report in _reports(session, world.team):
        if report.incident is not None and _allows(session, report, use):
            reference = report.incident.reference
            counted[reference] = counted.get(reference, 0) + 1
    return counted


def test_the_summary_page_reads_fixed_statements_and_counts_as_the_rules_say(
    app: Flask, ctx: Context, db_session: Session, world: World
) -> None:
    counts = []
    for size in (FEW, MANY):
        _grow(ctx, world, size)
        with count_statements(app) as seen:
            page = summaries.summaries_page(ctx, Profile.PARTNER)
        counts.append(seen.count)
        expected = _expected_counts(db_session, world, Profile.PARTNER)
        shown = {s.reference: s.reports for s in page.summaries}
        assert shown == dict(sorted(expected.items())[: summaries.PAGE_SIZE])
        for summary in page.summaries:
            assert summary.withheld == 2 - summary.reports  # two reports a case
            assert len(summary.official_responses) == 1
            one = summaries.build(
                summaries.assess(
                    db_session.get(Incident, _id(db_session, summary.reference)), Profile.PARTNER
                )
            )
            assert one == summary  # the page says what each case's own page says
    assert counts[0] == counts[1], counts


def _id(session: Session, reference: str) -> object:
    return session.query(Incident.id).filter(Incident.reference == reference).scalar()


@pytest.mark.parametrize("profile", [Profile.PARTNER, Profile.PUBLIC])
def test_a_summary_export_reads_fixed_statements_per_batch(
    app: Flask, ctx: Context, db_session: Session, world: World, profile: Profile
) -> None:
    counts = []
    for size in (FEW, MANY):
        _grow(ctx, world, size)
        out = io.StringIO()
        with count_statements(app) as seen:
            write_summary_export(ctx, start_summary_export(ctx, profile), out)
        counts.append(seen.count)
        written = json.loads(out.getvalue())["summaries"]
        assert {s["reference"]: s["corroboration"]["reports"] for s in written} == _expected_counts(
            db_session, world, profile
        )
        # The one action of each case is linked to its one report that may be counted.
        assert all(len(s["actions"]) == 1 for s in written)
    assert counts[0] == counts[1], counts
