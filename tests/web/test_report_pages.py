"""Report and source pages: logging a report from a new source, editing with the lock,
two editors at once, the lists' filters and their bounded SQL, access by role and team."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import IncidentViolation, Report, Source, User
from incidents.models.vocabularies import (
    IncidentStatus,
    SourceKind,
    SourceReliability,
    ViolationType,
)
from incidents.records.kinds import REPORT
from incidents.services import records
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.factories import IncidentFactory, ReportFactory, SourceFactory
from tests.helpers import count_events, count_statements, events
from tests.web.conftest import World

REFUSED = 422
SAVED_REPORT = re.compile(r"/reports/(RPT-\d{4}-\d{4,})$")
SAVED_SOURCE = re.compile(r"/sources/(SRC-\d{4,})$")


def _post(client: FlaskClient, path: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def researcher(signed_in: Callable[[str], User]) -> User:
    return signed_in("researcher")


def test_a_researcher_logs_a_report_from_a_new_source_of_an_incident(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    answer = _post(
        client,
        "/sources/new",
        kind="witness",
        identity="Ахмед Умаров",
        contact="Signal +7 900",
        reliability="B",
        risk_level="high",
        team=str(world.team.id),
    )
    assert answer.status_code == 302, answer.text
    source_ref = SAVED_SOURCE.search(answer.location).group(1)  # type: ignore[union-attr]

    answer = _post(
        client,
        "/reports/new",
        title="Testimony of a detention in Argun",
        source=source_ref,
        incident=world.incident.reference,
        received_on="2017-04-20",
        channel="interview",
        language="ru",
        narrative="He was taken at night from his home.",
        credibility="2",
        status="new",
        team=str(world.team.id),
    )
    assert answer.status_code == 302, answer.text
    reference = SAVED_REPORT.search(answer.location).group(1)  # type: ignore[union-attr]

    page = client.get(f"/reports/{reference}")
    assert page.status_code == 200
    assert "He was taken at night from his home." in page.text
    assert "B2" in page.text  # reliability and credibility side by side
    assert f"Saved report {reference}." in page.text
    assert world.incident.reference in page.text
    source_page = client.get(f"/sources/{source_ref}").text
    assert "Ахмед Умаров" in source_page and reference in source_page
    report = db_session.scalars(select(Report).where(Report.reference == reference)).one()
    assert report.narrative != b"He was taken at night from his home."  # sealed at rest
    created = events(db_session, AuditAction.RECORD_CREATE, report)
    assert len(created) == 1
    assert "He was taken" not in str(created[0].detail)


def test_a_refused_report_keeps_everything_typed_and_saves_nothing(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    before = _count(db_session, Report)
    answer = _post(
        client,
        "/reports/new",
        title="",
        received_on="20 April",
        channel="interview",
        narrative="Every word of this account must survive a refusal.",
        credibility="9",
        team=str(world.team.id),
    )
    assert answer.status_code == REFUSED
    assert "Every word of this account must survive a refusal." in answer.text
    assert "Enter a title." in answer.text
    assert "Use a date like 2017-04-20." in answer.text
    assert "Choose a whole number from 1 to 6." in answer.text
    assert 'id="error-summary"' in answer.text  # the messages where the eye is
    assert _count(db_session, Report) == before


def test_a_link_to_another_teams_source_is_refused_like_no_source(
    client: FlaskClient, world: World, researcher: User
) -> None:
    theirs = SourceFactory(team_id=world.other_team.id)
    answer = _post(
        client,
        "/reports/new",
        title="A report",
        received_on="2017-04-20",
        channel="hotline",
        source=theirs.reference,
        team=str(world.team.id),
    )
    assert answer.status_code == REFUSED
    assert f"There is no source {theirs.reference} in this team" in answer.text


def test_editing_names_the_changed_fields_and_moves_the_report(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    target = IncidentFactory(team_id=world.team.id)  # the incident it is moved to
    form = client.get(f"/reports/{report.reference}/edit")
    assert form.status_code == 200
    assert "A confidential account." in form.text  # the stored account, to edit
    assert world.incident.reference in form.text
    fields = _edit_fields(report, title="A better title", incident=target.reference)
    answer = _post(client, f"/reports/{report.reference}/edit", **fields)
    assert answer.status_code == 302, answer.text
    page = client.get(answer.location).text
    assert "Saved report" in page and "title, incident" in page
    db_session.refresh(report)
    assert report.incident_id == target.id
    change = events(db_session, AuditAction.RECORD_UPDATE, report)[-1]
    assert sorted(change.fields) == ["incident", "title"]


def _edit_fields(report: Report, **changes: str) -> dict[str, str]:
    fields = {
        "title": report.title,
        "source": "",
        "incident": "",
        "received_on": report.received_on.isoformat(),
        "channel": report.channel.value,
        "language": "",
        "narrative": "A confidential account.",
        "credibility": str(report.credibility),
        "status": report.status.value,
        "lock_version": str(report.lock_version),
    }
    return {**fields, **changes}


def test_a_second_editor_sees_both_versions_and_keeps_their_text(
    client: FlaskClient,
    world: World,
    researcher: User,
    context_for: Callable[..., Context],
) -> None:
    report = ReportFactory(team_id=world.team.id)
    opened_at = report.lock_version
    records.update(
        context_for(world.users["researcher"]),
        REPORT,
        report.reference,
        {"title": "Saved first by a colleague"},
        lock_version=opened_at,
    )
    fields = _edit_fields(report, title="My own title", narrative="My own careful wording.")
    fields["lock_version"] = str(opened_at)
    answer = _post(client, f"/reports/{report.reference}/edit", **fields)
    assert answer.status_code == 409
    assert "Saved first by a colleague" in answer.text  # theirs
    assert "My own careful wording." in answer.text  # mine, kept in the form
    assert "Nothing was saved" in answer.text
    # Saving again from the conflict page replaces theirs, knowingly.
    again = re.search(r'name="lock_version" type="hidden" value="(\d+)"', answer.text)
    assert again is not None and int(again.group(1)) == opened_at + 1
    fields["lock_version"] = again.group(1)
    assert _post(client, f"/reports/{report.reference}/edit", **fields).status_code == 302


def test_the_report_list_filters_and_pages_in_bounded_sql(
    app: Flask, client: FlaskClient, world: World, researcher: User
) -> None:
    source = SourceFactory(team_id=world.team.id)
    for n in range(3):
        ReportFactory(
            team_id=world.team.id,
            credibility=2,
            source_id=source.id,
            incident_id=world.incident.id,
            title=f"Two {n}",
        )
    ReportFactory(team_id=world.team.id, credibility=5, title="Five")
    ReportFactory(team_id=world.other_team.id, credibility=2, title="Theirs")
    page = client.get("/reports?credibility=2").text
    assert page.count("Two ") == 3 and "Five" not in page and "Theirs" not in page
    with count_statements(app) as few:
        client.get("/reports")
    for _ in range(20):
        ReportFactory(team_id=world.team.id, source_id=source.id, incident_id=world.incident.id)
    with count_statements(app) as many:
        assert client.get("/reports").status_code == 200
    assert many.count == few.count, f"{few!r}\n---\n{many!r}"


@pytest.mark.parametrize(
    "query",
    [
        "credibility=99",
        "status=%00",
        "received_from=2017-13-45",
        "after=not-a-cursor",
        "after=2017-01-01~nope",
        "reference=%27%3B--",
        "sort=<script>",
        "incident=" + "X" * 5000,
        "credibility=%C2%B2",  # a digit to str.isdigit, not to int()
        "after=SRC-%00",  # NUL, which PostgreSQL text refuses
        "after=SRC-0001%00",
    ],
)
def test_hostile_query_strings_give_a_normal_list(
    client: FlaskClient, world: World, researcher: User, query: str
) -> None:
    assert client.get(f"/reports?{query}").status_code == 200
    assert client.get(f"/sources?{query}").status_code == 200


def test_the_auditor_sees_reports_without_the_account_and_sources_without_identity(
    client: FlaskClient, world: World, login_as: Callable[[User], User]
) -> None:
    source = SourceFactory(team_id=world.team.id, secrets={"identity": "Hidden Name"})
    report = ReportFactory(team_id=world.team.id, source_id=source.id)
    login_as(world.users["auditor"])
    page = client.get(f"/reports/{report.reference}")
    assert page.status_code == 200 and "A confidential account." not in page.text
    page = client.get(f"/sources/{source.reference}")
    assert page.status_code == 200 and "Hidden Name" not in page.text
    assert client.get(f"/reports/{report.reference}/edit").status_code == 403


def test_another_teams_report_is_not_found(
    client: FlaskClient, world: World, researcher: User
) -> None:
    theirs = ReportFactory(team_id=world.other_team.id)
    assert client.get(f"/reports/{theirs.reference}").status_code == 404
    assert client.get(f"/reports/{theirs.reference}/edit").status_code == 404


def test_opening_a_report_decrypts_once_and_says_so(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report = ReportFactory(team_id=world.team.id)
    before = count_events(db_session, AuditAction.SECRET_DECRYPT, report)
    client.get(f"/reports/{report.reference}")
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, report) == before + 1
    assert _count(db_session, Source) >= 0


def test_the_incident_list_filters_on_public_fields_by_month(
    client: FlaskClient, world: World, login_as: Callable[[User], User]
) -> None:
    IncidentFactory(
        team_id=world.team.id,
        title="Killing in Grozny",
        region="Grozny",
        start_date=dt.date(2018, 6, 3),
        status=IncidentStatus.VERIFIED,
        violations=[IncidentViolation(violation_type=ViolationType.KILLING)],
    )
    login_as(world.users["advocacy_lead"])  # the list is every reader's: public fields only
    page = client.get("/incidents?violation_type=killing").text
    assert "Killing in Grozny" in page and world.incident.title not in page
    page = client.get("/incidents?began_from=2018-06&began_to=2018-06").text
    assert "Killing in Grozny" in page and world.incident.title not in page
    page = client.get("/incidents?region=grozn&status=verified").text
    assert "Killing in Grozny" in page
    assert "Killing in Grozny" not in client.get("/incidents?status=closed").text
    for hostile in (
        "began_from=2018-13",
        "began_to=9999-12",  # no month after it
        "country=%00%00",
        "violation_type=x" * 50,
    ):
        assert client.get(f"/incidents?{hostile}").status_code == 200


def test_the_source_list_filters_and_counts_reports(
    app: Flask, client: FlaskClient, world: World, researcher: User
) -> None:
    trusted = SourceFactory(team_id=world.team.id, reliability=SourceReliability.A)
    SourceFactory(
        team_id=world.team.id, kind=SourceKind.JOURNALIST, reliability=SourceReliability.E
    )
    for _ in range(2):
        ReportFactory(team_id=world.team.id, source_id=trusted.id)
    page = client.get("/sources?reliability=A").text
    assert trusted.reference in page and f"/reports?source={trusted.reference}" in page
    assert "journalist" not in client.get("/sources?reliability=A").text.split("<tbody")[1]
    with count_statements(app) as few:
        client.get("/sources")
    for _ in range(15):
        SourceFactory(team_id=world.team.id)
    with count_statements(app) as many:
        client.get("/sources")
    assert many.count == few.count, f"{few!r}\n---\n{many!r}"


def test_an_erased_report_has_no_edit_page(
    client: FlaskClient, world: World, researcher: User, ctx: Context
) -> None:
    report = ReportFactory(team_id=world.team.id)
    erase_record(ctx, report.reference, "duplicate")
    assert client.get(f"/reports/{report.reference}/edit").status_code == 404
    fields = _edit_fields(report, title="Still here?")
    assert _post(client, f"/reports/{report.reference}/edit", **fields).status_code == 404
    assert client.get(f"/reports/{report.reference}").status_code == 410


def test_saving_after_a_conflict_keeps_the_other_editors_changes_to_other_fields(
    client: FlaskClient,
    world: World,
    researcher: User,
    db_session: Session,
    context_for: Callable[..., Context],
) -> None:
    """A opens the form; B changes only the credibility; A changes only the title. A's
    second save keeps B's credibility: the fields A left alone take what B stored."""
    report = ReportFactory(team_id=world.team.id, credibility=3)
    form = client.get(f"/reports/{report.reference}/edit").text
    fields = _form_values(form)
    records.update(
        context_for(world.users["researcher"]),
        REPORT,
        report.reference,
        {"credibility": "1"},
        lock_version=report.lock_version,
    )
    fields["title"] = "A's better title"
    answer = _post(client, f"/reports/{report.reference}/edit", **fields)
    assert answer.status_code == 409
    assert "You changed different fields" in answer.text
    assert _form_values(answer.text)["credibility"] == "1"  # B's change, now in the form
    assert _form_values(answer.text)["title"] == "A's better title"  # A's, kept
    again = _post(client, f"/reports/{report.reference}/edit", **_form_values(answer.text))
    assert again.status_code == 302
    db_session.refresh(report)
    assert (report.title, report.credibility) == ("A's better title", 1)


def _form_values(page: str) -> dict[str, str]:
    """The values a browser would send back from the record form on `page`."""
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body
        )
        values[name] = next(g for g in chosen.groups() if g is not None) if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[name] = html.unescape(body.lstrip("\n"))
    values.pop("csrf_token", None)
    return {k: html.unescape(v) for k, v in values.items()}
