"""What edit pages ask of the services: stored values as a form shows them (decrypting is
recorded with its purpose), the records a link may name, and what differs when two
people edited one record; and the report and source lists' filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied
from incidents.models import Team, User
from incidents.models.vocabularies import DatePrecision, ReportStatus, Role, SourceReliability
from incidents.records.kinds import INCIDENT, REPORT
from incidents.services import editing
from incidents.services import reports as report_service
from incidents.services.erasure import erase_record
from tests.factories import IncidentFactory, ReportFactory, SourceFactory, TeamFactory, UserFactory
from tests.helpers import events


@pytest.fixture
def team() -> Team:
    return TeamFactory()


@pytest.fixture
def researcher(db_session: Session, team: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[team])


def test_editable_values_are_text_as_the_form_shows_them(
    ctx: Context, context_for: Callable[..., Context], researcher: User, team: Team
) -> None:
    team_id = team.id
    source = SourceFactory(team_id=team_id)
    incident = IncidentFactory(
        team_id=team_id, start_date=dt.date(2017, 4, 1), start_precision=DatePrecision.MONTH
    )
    report = ReportFactory(team_id=team_id, source_id=source.id, incident_id=incident.id)
    mine = context_for(researcher)
    editable = editing.editable_values(mine, REPORT, report.reference, REPORT_NAMES)
    assert editable.values["source"] == source.reference
    assert editable.values["incident"] == incident.reference
    assert editable.values["received_on"] == "2017-04-01"
    assert editable.values["narrative"] == "A confidential account."
    assert editable.lock_version == report.lock_version
    opened = events(mine.session, AuditAction.SECRET_DECRYPT, report)[-1]
    assert opened.fields == ["narrative"] and opened.detail == {"purpose": "edit"}
    incident_values = editing.editable_values(mine, INCIDENT, incident.reference, ["start_date"])
    assert incident_values.values == {"start_date": "2017-04"}  # no more precise than known


REPORT_NAMES = ["title", "source", "incident", "received_on", "channel", "narrative"]


def test_only_writers_of_the_team_get_editable_values(
    ctx: Context, context_for: Callable[..., Context], researcher: User, team: Team
) -> None:
    report = ReportFactory(team_id=TeamFactory().id)
    with pytest.raises(NotFound):
        editing.editable_values(context_for(researcher), REPORT, report.reference, REPORT_NAMES)
    auditor = UserFactory(role=Role.AUDITOR, teams=[team])
    theirs = ReportFactory(team_id=team.id)
    with pytest.raises(PermissionDenied):
        editing.editable_values(context_for(auditor), REPORT, theirs.reference, REPORT_NAMES)


def test_link_options_are_the_teams_own_and_not_erased(
    ctx: Context, context_for: Callable[..., Context], researcher: User, team: Team
) -> None:
    team_id = team.id
    kept = SourceFactory(team_id=team_id, reliability=SourceReliability.B)
    erased = SourceFactory(team_id=team_id)
    erase_record(ctx, erased.reference, "entered_in_error")
    SourceFactory(team_id=TeamFactory().id)  # another team's
    options = editing.link_options(context_for(researcher), "source")
    assert [o.reference for o in options] == [kept.reference]
    assert "reliability B" in options[0].description


def test_link_options_describe_reports_only_by_what_the_reader_may_see(
    context_for: Callable[[User], Context], researcher: User, team: Team
) -> None:
    ReportFactory(team_id=team.id, title="CANARY-restricted-report-title")
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    for_researcher = editing.link_options(context_for(researcher), "report")
    for_lead = editing.link_options(context_for(lead), "report")
    assert [o.reference for o in for_lead] == [o.reference for o in for_researcher]
    assert "CANARY-restricted-report-title" in {o.description for o in for_researcher}
    assert not [o for o in for_lead if "CANARY" in o.description]


def test_differences_name_fields_by_label_with_both_values() -> None:
    stored = {"title": "Theirs", "status": "linked", "narrative": "Same"}
    typed = {"title": "Mine", "status": "triaged", "narrative": "Same\r\n"}
    found = editing.differences(REPORT, stored, typed)
    assert [(d.label, d.stored, d.typed) for d in found] == [
        ("title", "Theirs", "Mine"),
        ("status", "linked", "triaged"),
    ]


def test_report_filters_drop_what_means_nothing() -> None:
    filters = report_service.ReportFilters.from_query(
        {"status": "linked", "credibility": "7", "received_from": "2017-02-30", "sort": "x"}
    )
    assert filters.status is ReportStatus.LINKED
    assert filters.credibility is None and filters.received_from is None
    assert filters.sort == "newest"
    assert filters.query_string() == {"status": "linked"}


def test_the_report_list_pages_by_keyset_without_repeats(
    ctx: Context, context_for: Callable[..., Context], researcher: User, team: Team
) -> None:
    team_id = team.id
    made = {
        ReportFactory(team_id=team_id, received_on=dt.date(2017, 1, 1 + n % 3)).reference
        for n in range(7)
    }
    mine = context_for(researcher)
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = report_service.list_reports(mine, report_service.ReportFilters(), after, limit=3)
        seen += [row.reference for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    dates = [
        row.received_on
        for row in report_service.list_reports(mine, report_service.ReportFilters()).rows
    ]
    assert dates == sorted(dates, reverse=True)
