"""Summary pages: one case under each profile, every shareable case as a printable page
(one case per printed sheet), JSON downloads as attachments, a clear 400 for an unknown
profile, audit events for views and downloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import Incident, Source, User
from incidents.models.vocabularies import ConsentUse, SourceKind, SourceReliability
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
)
from tests.helpers import events
from tests.web.conftest import World

PARTNERS = ConsentUse.SHARE_WITH_PARTNERS
PUBLISH = ConsentUse.PUBLISH_WITHOUT_NAME


def _source(world: World, *uses: ConsentUse, kind: SourceKind = SourceKind.WITNESS) -> Source:
    source = SourceFactory(team_id=world.team.id, kind=kind, reliability=SourceReliability.B)
    for use in uses:
        ConsentFactory(team_id=world.team.id, person_id=None, source_id=source.id, use=use)
    return source


@pytest.fixture
def shared(world: World) -> Incident:
    """A case of the world's team: one report shared with partners only, one published
    too, one that may be neither; its one person agrees to both uses."""
    incident: Incident = IncidentFactory(team_id=world.team.id, start_date=date(2017, 3, 5))
    person = PersonFactory(team_id=world.team.id)
    ActFactory(team_id=world.team.id, person_id=person.id, incident_id=incident.id)
    for use in (PARTNERS, PUBLISH):
        ConsentFactory(team_id=world.team.id, person_id=person.id, use=use)
    for source in (
        _source(world, PARTNERS),
        _source(world, PARTNERS, PUBLISH, kind=SourceKind.JOURNALIST),
        _source(world),
    ):
        report = ReportFactory(team_id=world.team.id, incident_id=incident.id, source_id=source.id)
    action = AdvocacyActionFactory(team_id=world.team.id, title="Petition to the embassy")
    ActionLinkFactory(action_id=action.id, report_id=report.id)  # the unconsented report
    return incident


@pytest.fixture
def lead(signed_in: Callable[[str], User]) -> User:
    return signed_in("advocacy_lead")


def test_the_partner_summary_shows_the_public_facts_and_counts(
    client: FlaskClient, shared: Incident, lead: User
) -> None:
    page = client.get(f"/incidents/{shared.reference}/summary")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"Case {shared.reference}" in text
    assert "March 2017" in text and "Chechen Republic" in text
    assert '<data value="2">2</data>' in text  # reports: two of three may be shared
    assert "1 report not counted: consent to sharing with named partners not given" in text
    assert "Petition to the embassy" not in text  # it relies on the withheld report
    assert 'aria-current="page">Partner<' in text
    assert f"/incidents/{shared.reference}/summary/export?profile=partner" in text


def test_the_public_summary_counts_fewer_reports(
    client: FlaskClient, shared: Incident, lead: User
) -> None:
    text = client.get(f"/incidents/{shared.reference}/summary?profile=public").get_data(
        as_text=True
    )
    assert '<data value="1">1</data>' in text
    assert "2 reports not counted: consent to publication without their name not given" in text
    assert "Journalist" in text


def test_a_case_that_cannot_be_shared_shows_only_its_reference(
    client: FlaskClient, world: World, lead: User
) -> None:
    page = client.get(f"/incidents/{world.incident.reference}/summary")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "cannot be shared under the partner profile" in text
    assert "Chechen Republic" not in text and "Corroboration" not in text


def test_an_unknown_profile_is_a_clear_400(
    client: FlaskClient, shared: Incident, lead: User
) -> None:
    for path in (
        f"/incidents/{shared.reference}/summary?profile=full",
        "/summaries?profile=internal",
        "/summaries/export?profile=nosuch",
    ):
        page = client.get(path)
        assert page.status_code == 400, path
        assert "choose partner or public" in page.get_data(as_text=True)


def test_the_printable_page_has_one_case_per_sheet(
    client: FlaskClient, world: World, shared: Incident, lead: User
) -> None:
    page = client.get("/summaries?profile=partner")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count('class="case-summary"') == 1  # the world's own incident has no report
    assert shared.reference in text and world.incident.reference not in text
    stylesheet = client.get("/static/app.css")
    css = stylesheet.get_data(as_text=True)
    stylesheet.close()  # a static file is streamed
    print_rules = css[css.index("/* Redacted case summaries") :]
    assert "@media print" in print_rules and "break-after: page" in print_rules
    assert ".summary-controls { display: none; }" in print_rules


def test_downloads_are_json_attachments_with_the_page_content(
    client: FlaskClient, world: World, shared: Incident, lead: User, db_session: Session
) -> None:
    for path in (
        f"/incidents/{shared.reference}/summary/export?profile=public",
        "/summaries/export?profile=public",
    ):
        download = client.get(path)
        assert download.status_code == 200, path
        assert download.mimetype == "application/json"
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "public" in disposition
        document = json.loads(download.get_data(as_text=True))
        (summary,) = document["summaries"]
        assert summary["reference"] == shared.reference
        assert summary["month"] == "2017-03"
        assert summary["corroboration"]["reports"] == 1
        assert summary["corroboration"]["sources_by_kind"] == {"journalist": 1}
    counts = {
        "profile": "public",
        "format": "json",
        "summaries": 1,
        "reports": 1,
        "reports_not_counted": 2,
    }
    exported = [e.detail for e in events(db_session, AuditAction.EXPORT)]
    # The case's own event names its incident; the export of every case, the teams.
    assert exported[-2:] == [counts, {**counts, "teams": [world.team.slug]}]


def test_each_page_view_is_audited_with_its_counts(
    client: FlaskClient, shared: Incident, lead: User, db_session: Session
) -> None:
    client.get(f"/incidents/{shared.reference}/summary")
    event = events(db_session, AuditAction.EXPORT)[-1]
    assert event.actor == lead.email and event.target_ref == shared.reference
    assert event.detail == {
        "profile": "partner",
        "format": "html",
        "summaries": 1,
        "reports": 2,
        "reports_not_counted": 1,
    }


def test_an_auditor_reads_but_may_not_download(
    client: FlaskClient, world: World, shared: Incident, login_as: Callable[[User], User]
) -> None:
    login_as(world.users["auditor"])
    page = client.get(f"/incidents/{shared.reference}/summary")
    assert page.status_code == 200
    assert "Download as JSON" not in page.get_data(as_text=True)
    assert client.get(f"/incidents/{shared.reference}/summary/export").status_code == 403
