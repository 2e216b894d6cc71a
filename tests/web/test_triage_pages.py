"""The triage page: the queue of the team's new reports, oldest first, each reference a link
to its report; a decision per row and one for the chosen rows (all or nothing), refused
forms shown again in place with what was typed; hostile input a normal page; no
decryption, and the same number of SQL statements whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from incidents.audit.actions import AuditAction
from incidents.models import Report, User
from incidents.models.vocabularies import ReportStatus, SourceKind, SourceReliability
from incidents.services import triage
from tests import factories
from tests.conftest import csrf_token
from tests.factories import ReportFactory, SourceFactory
from tests.helpers import count_events, count_statements, events
from tests.web.conftest import World

REFUSED = 422


@pytest.fixture
def researcher(signed_in: Callable[[str], User]) -> User:
    return signed_in("researcher")


def _report(world: World, received: str = "2017-04-01", **values: object) -> Report:
    report: Report = ReportFactory(
        team_id=values.pop("team_id", world.team.id),
        received_on=dt.date.fromisoformat(received),
        **values,
    )
    return report


def _post(client: FlaskClient, data: dict[str, object]) -> TestResponse:
    """Post to the triage page; the test's own copies of the records are read again after."""
    response = client.post("/triage", data=data)
    factories.session().expire_all()
    return response


def _decide(client: FlaskClient, report: Report, **fields: str) -> TestResponse:
    data = {
        "csrf_token": csrf_token(client, "/triage"),
        "scope": "report",
        "report": report.reference,
        "lock_version": str(report.lock_version),
        **fields,
    }
    return _post(client, data)


def _decide_chosen(
    client: FlaskClient, reports: list[Report] | list[tuple[str, int]], **fields: str
) -> TestResponse:
    """Tick `reports` (or (reference, version seen) pairs) and decide about them."""
    shown = [(r.reference, r.lock_version) if isinstance(r, Report) else r for r in reports]
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, "/triage"),
        "scope": "selected",
        "reports": [f"{reference}:{version}" for reference, version in shown],
        **fields,
    }
    return _post(client, data)


def _item(page: str, reference: str) -> str:
    """The queue's entry of `reference`: from its start to the next entry or the list's end."""
    start = page.find(f'" id="{reference}">')
    assert start >= 0, f"{reference} is not in the queue"
    ends = [
        i for i in (page.find('<li class="triage-item', start), page.find("</ol>", start)) if i >= 0
    ]
    return page[start : min(ends)]


def test_the_queue_shows_the_teams_new_reports_oldest_first_with_links(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    source = SourceFactory(
        team_id=world.team.id, kind=SourceKind.WITNESS, reliability=SourceReliability.B
    )
    late = _report(world, "2017-05-01", title="Later report", source_id=source.id, credibility=2)
    early = _report(world, "2017-04-01", title="Earlier report")
    _report(world, "2017-03-01", title="Looked at already", status=ReportStatus.TRIAGED)
    _report(world, "2017-03-01", title="Theirs", team_id=world.other_team.id)
    decryptions = count_events(db_session, AuditAction.SECRET_DECRYPT)

    response = client.get("/triage")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index(early.reference) < page.index(late.reference)
    assert "Looked at already" not in page and "Theirs" not in page
    assert f'href="/reports/{late.reference}"' in _item(page, late.reference)
    assert '<strong class="grade">B2</strong>' in _item(page, late.reference)
    assert "witness" in _item(page, late.reference).lower()
    assert "A confidential account." not in page
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == decryptions
    assert 'href="/triage"' in page  # in the navigation


def test_an_empty_queue_says_so(client: FlaskClient, world: World, researcher: User) -> None:
    page = client.get("/triage").get_data(as_text=True)
    assert "Nothing to triage." in page


# -- one report at a time ---------------------------------------------------------------------


def test_marking_one_report_triaged(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report = _report(world)
    response = _decide(client, report, status="triaged")
    assert response.status_code == 302 and response.location.endswith("/triage")
    assert report.status is ReportStatus.TRIAGED
    assert [e.fields for e in events(db_session, AuditAction.RECORD_UPDATE, report)] == [["status"]]
    page = client.get("/triage").get_data(as_text=True)
    assert f"{report.reference} marked as triaged." in page
    assert f'id="{report.reference}"' not in page


def test_linking_one_report_to_an_incident(
    client: FlaskClient, world: World, researcher: User
) -> None:
    report = _report(world)
    response = _decide(client, report, status="linked", incident=world.incident.reference)
    assert response.status_code == 302
    assert (report.status, report.incident_id) == (ReportStatus.LINKED, world.incident.id)
    page = client.get("/triage").get_data(as_text=True)
    assert f"{report.reference} linked to {world.incident.reference}." in page


def test_a_refused_decision_is_shown_again_in_its_row_with_what_was_typed(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report, other = _report(world), _report(world, "2017-04-02")
    incident = world.other_incident.reference  # another team's: no such incident
    response = _decide(client, report, status="linked", incident=incident)

    assert response.status_code == REFUSED
    item = _item(response.get_data(as_text=True), report.reference)
    assert f"There is no incident {incident} in this team; check the reference." in item
    assert f'value="{incident}"' in item  # what was typed stays
    assert '<details class="triage-item__decide" open>' in item
    assert re.search(r'<input checked[^>]*value="linked"', item)
    assert "open>" not in _item(response.get_data(as_text=True), other.reference)
    assert report.status is ReportStatus.NEW
    assert events(db_session, AuditAction.RECORD_UPDATE, report) == []


def test_rejecting_needs_a_reason_and_keeps_it(
    client: FlaskClient, world: World, researcher: User
) -> None:
    report = _report(world)
    refused = _decide(client, report, status="rejected", rejection_reason="   ")
    assert refused.status_code == REFUSED
    assert "Give the reason for rejecting it." in _item(
        refused.get_data(as_text=True), report.reference
    )
    accepted = _decide(client, report, status="rejected", rejection_reason="A hoax call.")
    assert accepted.status_code == 302
    assert (report.status, report.rejection_reason) == (ReportStatus.REJECTED, "A hoax call.")


def test_a_decision_needs_a_choice(client: FlaskClient, world: World, researcher: User) -> None:
    report = _report(world)
    for status in ("", "erased", "<script>"):
        response = _decide(client, report, status=status)
        assert response.status_code == REFUSED
        assert "Choose what to do" in _item(response.get_data(as_text=True), report.reference)
    assert report.status is ReportStatus.NEW


def test_a_decision_from_an_old_page_is_refused_in_its_row(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report = _report(world)
    seen = report.lock_version
    report.credibility = 2  # someone edits it meanwhile: the lock moves on
    db_session.flush()
    response = _post(
        client,
        {
            "csrf_token": csrf_token(client, "/triage"),
            "scope": "report",
            "report": report.reference,
            "lock_version": str(seen),
            "status": "triaged",
        },
    )
    assert response.status_code == REFUSED
    item = _item(response.get_data(as_text=True), report.reference)
    assert "was changed by someone else" in item
    assert f'name="lock_version" value="{report.lock_version}"' in item  # the version now shown
    assert report.status is ReportStatus.NEW


def test_a_decision_about_a_report_not_in_the_queue_is_said_at_the_top(
    client: FlaskClient, world: World, researcher: User
) -> None:
    theirs = _report(world, team_id=world.other_team.id)
    response = _decide(client, theirs, status="triaged")
    assert response.status_code == REFUSED
    assert f"There is no report {theirs.reference} in your teams." in response.get_data(
        as_text=True
    )
    assert theirs.status is ReportStatus.NEW


# -- several at once ---------------------------------------------------------------------------


def test_deciding_about_the_chosen_reports(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    chosen = [_report(world), _report(world, "2017-04-02")]
    left = _report(world, "2017-04-03")
    response = _decide_chosen(client, chosen, status="rejected", rejection_reason="Spam.")
    assert response.status_code == 302
    assert [r.status for r in chosen] == [ReportStatus.REJECTED] * 2
    assert left.status is ReportStatus.NEW
    for report in chosen:
        assert [e.fields for e in events(db_session, AuditAction.RECORD_UPDATE, report)] == [
            ["rejection_reason", "status"]
        ]
    page = client.get("/triage").get_data(as_text=True)
    names = ", ".join(r.reference for r in chosen)
    assert f"2 reports rejected: {names}." in page


def test_the_chosen_reports_are_all_or_nothing(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    fine, spoilt = _report(world), _report(world, "2017-04-02")
    shown = [(fine.reference, fine.lock_version), (spoilt.reference, spoilt.lock_version)]
    spoilt.title = "Edited meanwhile"  # by someone else, after the queue was shown
    db_session.flush()
    before = count_events(db_session, AuditAction.RECORD_UPDATE)

    response = _decide_chosen(client, shown, status="linked", incident=world.incident.reference)

    assert response.status_code == REFUSED
    page = response.get_data(as_text=True)
    assert f"Nothing was saved: {spoilt.reference} could not be changed." in unescape(page)
    assert "was changed by someone else" in _item(page, spoilt.reference)
    for report in (fine, spoilt):  # the boxes stay ticked, what was typed stays
        assert re.search(rf'value="{report.reference}:\d+" checked', page)
    chosen_form = page[: page.index('id="queue-heading"')]
    assert f'value="{world.incident.reference}"' in chosen_form
    assert (fine.status, spoilt.status) == (ReportStatus.NEW, ReportStatus.NEW)
    assert count_events(db_session, AuditAction.RECORD_UPDATE) == before


def test_no_report_chosen_is_refused(client: FlaskClient, world: World, researcher: User) -> None:
    _report(world)
    response = _decide_chosen(client, [], status="triaged")
    assert response.status_code == REFUSED
    assert "Choose at least one report." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"scope": "selected", "status": "triaged", "reports": ["RPT-2017-0001"]},
        {"scope": "selected", "status": "triaged", "reports": ["RPT-2017-0001:x"]},
        {"scope": "selected", "status": "triaged", "reports": ["\x00:1"]},
        {"scope": "selected", "status": "linked", "incident": "INC-\x00", "reports": []},
        {"scope": "report", "status": "triaged", "report": "RPT-\x00", "lock_version": "1"},
        {"scope": "report", "status": "triaged", "report": "R" * 5000, "lock_version": "-1"},
        {"scope": "report", "status": "triaged", "report": "RPT-2017-0001", "lock_version": "²"},
        {
            "scope": "report",
            "status": "triaged",
            "report": "RPT-2017-0001",
            "lock_version": "9" * 5000,
        },
        {"scope": "report", "status": "rejected", "rejection_reason": "x" * 5000},
        {"scope": "nonsense"},
        {},
    ],
)
def test_hostile_forms_are_refused_not_a_500(
    client: FlaskClient, world: World, researcher: User, data: dict[str, object]
) -> None:
    report = _report(world)
    data = {"csrf_token": csrf_token(client, "/triage"), **data}
    response = _post(client, data)
    assert response.status_code == REFUSED
    assert report.status is ReportStatus.NEW


@pytest.mark.parametrize(
    "query",
    [
        "after=not-a-cursor",
        "after=2017-02-30." + "0" * 32,
        "after=%00",
        "after=" + "9" * 5000,
        "after=2017-04-01.zz",
        "after=%27%3B--",
        "after=<script>",
    ],
)
def test_hostile_query_strings_give_the_first_page(
    client: FlaskClient, world: World, researcher: User, query: str
) -> None:
    report = _report(world)
    response = client.get(f"/triage?{query}")
    assert response.status_code == 200
    assert f'id="{report.reference}"' in response.get_data(as_text=True)


def test_the_pages_follow_each_other(
    client: FlaskClient, world: World, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triage, "PAGE_SIZE", 2)
    made = [_report(world, f"2017-04-0{day}") for day in (1, 2, 3)]
    first = client.get("/triage").get_data(as_text=True)
    assert [r.reference in first for r in made] == [True, True, False]
    next_link = re.search(r'href="(/triage\?after=[^"]+)">Next page', first)
    assert next_link
    second = client.get(unescape(next_link.group(1))).get_data(as_text=True)
    assert [r.reference in second for r in made] == [False, False, True]
    # A decision taken on the second page comes back to it.
    response = _decide(client, made[2], status="triaged")
    assert response.status_code == 302


def test_the_queue_runs_the_same_statements_for_a_few_rows_or_many(
    app: Flask, client: FlaskClient, world: World, researcher: User
) -> None:
    source = SourceFactory(team_id=world.team.id)
    for _ in range(2):
        _report(world, source_id=source.id)
    with count_statements(app) as few:
        assert client.get("/triage").status_code == 200
    for day in range(1, 29):
        _report(world, f"2017-05-{day:02d}", source_id=SourceFactory(team_id=world.team.id).id)
    with count_statements(app) as many:
        page = client.get("/triage").get_data(as_text=True)
    assert page.count('<li class="triage-item') == 30
    assert many.count == few.count, f"{few}\n---\n{many}"
