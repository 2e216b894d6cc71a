"""The history and corroboration sections of the incident and person pages: who sees
which, what they say (labels, never values), and that they stay readable without
JavaScript (a <details> section, figures in plain markup)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.context import Context
from incidents.models import User
from incidents.models.vocabularies import SourceKind, SourceReliability
from incidents.records.kinds import INCIDENT
from incidents.services import people, records
from incidents.services.incidents import view_incident
from tests.factories import ReportFactory, SourceFactory
from tests.helpers import count_statements
from tests.web.conftest import World

HISTORY = 'id="history-heading"'
CORROBORATION = 'id="corroboration-heading"'
CHANGED_TITLE = "Detentions at the checkpoint, revised"


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert match, f"no {section_id} section"
    return match.group(0)


def _text(html: str) -> str:
    """What a reader sees: inline tags vanish, block tags separate words."""
    inline = re.sub(r"</?(?:strong|span|time|data|a)\b[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())


def _change_incident(world: World, context_for: Callable[..., Context]) -> None:
    records.update(
        context_for(world.users["researcher"]),
        INCIDENT,
        world.incident.reference,
        {"title": CHANGED_TITLE, "narrative": "CANARY-narrative-rewritten-6P1"},
        lock_version=world.incident.lock_version,
    )


@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_the_team_s_researchers_and_auditors_see_the_incident_history(
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    context_for: Callable[..., Context],
) -> None:
    _change_incident(world, context_for)
    user = as_role(role)
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    history = _section(page, "history")
    assert "<details" in history and "<summary" in history
    text = _text(history)
    researcher = world.users["researcher"]
    assert "Changed: title, full account" in text
    assert f"{researcher.display_name} {researcher.email}" in text
    assert "Created" in text and "cli:tests" in text
    if role == "researcher":  # this very page view decrypted the incident, and says so
        assert user is not None and f"{user.display_name} {user.email}" in text
        assert "Decrypted: full account, precise place — to show it on a page" in text
    for value in ("CANARY-narrative-rewritten-6P1", "CANARY-narrative-7Q2", "narrative"):
        assert value not in history


def test_an_advocacy_lead_gets_no_history_section(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("advocacy_lead")
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert HISTORY not in page
    assert world.users["researcher"].email not in page


def test_the_person_page_shows_its_history(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    context_for: Callable[..., Context],
) -> None:
    researcher = world.users["researcher"]
    person = people.create_person(
        context_for(researcher), world.team.id, {"full_name": "Adam Demoev"}
    )
    as_role("researcher")
    page = client.get(f"/people/{person.reference}").get_data(as_text=True)
    text = _text(_section(page, "history"))
    assert "Created: full name" in text
    assert (
        "Decrypted: full name, other names, date of birth, contact, sexual orientation, "
        "gender identity — to show it on a page" in text
    )
    assert "Adam" not in _section(page, "history")


@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_readers_of_restricted_fields_see_the_corroboration_figures_and_nothing_identifying(
    role: str, client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    witness = SourceFactory(
        team_id=world.team.id, kind=SourceKind.WITNESS, reliability=SourceReliability.B
    )
    reports = [
        ReportFactory(
            team_id=world.team.id,
            incident_id=world.incident.id,
            source_id=witness.id,
            credibility=2,
        )
        for _ in range(2)
    ]
    ReportFactory(team_id=world.team.id, incident_id=world.incident.id, credibility=4)
    as_role(role)
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    section = _section(page, "corroboration")
    text = _text(section)
    assert "Reports 3" in text
    assert "Independent sources 1" in text
    assert "Reports without a source 1" in text
    assert "Witness: 1 source (2 reports)" in text
    assert "B2 2 reports" in text and "–4 1 report" in text
    for report in reports:
        assert report.reference not in section and report.title not in section
    assert witness.reference not in section


def test_advocacy_leads_are_not_shown_the_kinds_and_grades_of_sources(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    """With one report, the figures would give away that source's kind and grade."""
    ReportFactory(
        team_id=world.team.id,
        incident_id=world.incident.id,
        source_id=SourceFactory(team_id=world.team.id).id,
    )
    as_role("advocacy_lead")
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert CORROBORATION not in page and 'id="corroboration"' not in page


def test_an_incident_without_reports_says_so(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert CORROBORATION in page
    assert "No report corroborates this incident yet." in _text(_section(page, "corroboration"))


def test_the_sections_cost_the_same_statements_however_long_the_record_s_past(
    app: Flask,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    context_for: Callable[..., Context],
) -> None:
    linked = {"team_id": world.team.id, "incident_id": world.incident.id}
    ReportFactory(**linked, source_id=SourceFactory(team_id=world.team.id).id)
    view_incident(context_for(world.users["researcher"]), world.incident.reference)
    as_role("auditor")
    path = f"/incidents/{world.incident.reference}"
    client.get(path)
    with count_statements(app) as few:
        client.get(path)
    for number in range(8):
        source = SourceFactory(team_id=world.team.id, kind=list(SourceKind)[number % 4])
        ReportFactory(**linked, source_id=source.id, credibility=number % 6 + 1)
    for _ in range(8):
        view_incident(context_for(world.users["researcher"]), world.incident.reference)
    with count_statements(app) as many:
        page = client.get(path).get_data(as_text=True)
    assert "Reports 9" in _text(_section(page, "corroboration"))
    assert many.count == few.count, f"{few}\n\n----\n\n{many}"
