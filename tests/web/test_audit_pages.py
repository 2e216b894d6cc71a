"""Auditor pages: the filtered log, an incident's provenance trail, verify now."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from incidents.audit import sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.log import Actor, record_event
from incidents.audit.signing import open_checkpoint
from incidents.db import utcnow
from incidents.extensions import audit_signer
from incidents.models import User
from incidents.models.audit import AuditEvent
from incidents.models.vocabularies import SourceReliability
from incidents.services.auditor import VERIFY_INTERVAL
from tests.conftest import csrf_token
from tests.factories import EvidenceFactory, ReportFactory, SourceFactory
from tests.web.conftest import World

# Actions that nothing else in these tests records, for events made only to fill pages.
PAGED = AuditAction.KEYS_REWRAP
FUZZED = AuditAction.KEYS_RETIRE

CANARIES = (
    "CANARY-narrative-7Q2",
    "CANARY-place-9Z4",
    "CANARY-other-team-3K8",
    "CANARY-source-identity-4M6",
    "CANARY-report-narrative-8J1",
    "CANARY-evidence-name-2W5",
)


def _page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def _no_canary(page: str) -> None:
    for canary in CANARIES:
        assert canary not in page


@pytest.fixture
def trail(world: World, client: FlaskClient, as_role: Callable[[str], User | None]) -> World:
    """A report with a rated source and an evidence file; a researcher has looked at it all."""
    source = SourceFactory(
        team_id=world.team.id,
        reliability=SourceReliability.B,
        secrets={"identity": "CANARY-source-identity-4M6"},
    )
    report = ReportFactory(
        team_id=world.team.id,
        incident_id=world.incident.id,
        source_id=source.id,
        credibility=2,
        secrets={"narrative": "CANARY-report-narrative-8J1"},
    )
    EvidenceFactory(
        team_id=world.team.id,
        report_id=report.id,
        sha256="ab" * 32,
        secrets={"filename": "CANARY-evidence-name-2W5", "description": None},
    )
    as_role("researcher")
    assert "CANARY-narrative-7Q2" in _page(client, f"/incidents/{world.incident.reference}")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})
    return world


def test_the_log_lists_events_of_the_team_and_never_a_secret(
    client: FlaskClient, trail: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = _page(client, "/audit")
    assert "secret.decrypt" in page
    assert trail.incident.reference in page
    assert trail.other_incident.reference not in page, "another team's events are hidden"
    _no_canary(page)


def test_filters_narrow_the_log(
    client: FlaskClient, trail: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    researcher = trail.users["researcher"].email
    by_action = _page(client, "/audit?action=secret.")
    assert "<code>secret.decrypt</code>" in by_action
    assert "<code>record.create</code>" not in by_action
    by_actor = _page(client, f"/audit?actor={researcher.upper()}")
    assert researcher in by_actor
    assert "<code>record.create</code>" not in by_actor  # the factories' actor made those
    by_record = _page(client, f"/audit?record={trail.incident.reference}")
    assert trail.incident.reference in by_record
    assert "<code>team.create</code>" not in by_record
    assert "No events match" in _page(client, "/audit?until=2000-01-01")
    assert "secret.decrypt" in _page(client, "/audit?since=2000-01-01")
    invalid = _page(client, "/audit?since=yesterday&action=secret.")
    assert "Not a valid date value" in invalid
    assert "<code>record.create</code>" in invalid, "invalid filters are not applied"


def test_the_log_pages_by_position(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    for number in range(60):
        record_event(db_session, Actor("pager@example.org"), PAGED, detail={"n": number})
    db_session.flush()
    as_role("auditor")
    first = _page(client, "/audit?action=keys.rewrap")
    assert first.count("<code>keys.rewrap</code>") == 50
    link = re.search(r'href="(/audit\?[^"]*before=\d+[^"]*)"', first)
    assert link, "no link to older events"
    second = _page(client, unescape(link.group(1)))
    assert second.count("<code>keys.rewrap</code>") == 10
    assert "action=keys.rewrap" in unescape(link.group(1)), "filters survive paging"
    assert _page(client, "/audit?before=notanumber&action=keys.rewrap").count("keys.rewrap") >= 50


# Query-string names Flask's url_for reserves, names of the filters and of the cursor, and
# values that overflow a 64-bit integer, a date or a driver (security check 27).
RESERVED_NAMES = ("_method", "_external", "_anchor", "_scheme", "endpoint", "values")
FILTER_NAMES = ("actor", "action", "record", "since", "until", "before")
NASTY_VALUES = (
    "99999999999999999999999",
    "-99999999999999999999999",
    str(2**63),
    str(2**63 - 1),
    "-1",
    "0",
    "1_000",
    "9" * 5000,
    "1e3",
    "notanumber",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2017-02-30",
    "POST",
    "1",
    "https",
    "evil.example",
    "\x00",
    "a\x00b",
    "%_\\",
    "' OR 1=1 --",
    "ünïcode ✓",
    "",
)


@pytest.fixture
def pages_of_events(
    world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    """60 events (more than a page, so the pager shows), and an auditor logged in."""
    for number in range(60):
        record_event(db_session, Actor("fuzz@example.org"), FUZZED, detail={"n": number})
    db_session.flush()
    as_role("auditor")


def _no_error_and_relative_links(client: FlaskClient, query: dict[str, str]) -> str:
    response = client.get("/audit", query_string=query)
    assert response.status_code < 500, query
    assert response.status_code in (200, 400), query
    page = response.get_data(as_text=True)
    for href in re.findall(r'<(?:a|form) [^>]*(?:href|action)="([^"]*)"', page):
        parts = urlsplit(unescape(href))
        assert not parts.scheme and not parts.netloc, f"absolute link {href!r} for {query!r}"
    return page


def test_nasty_query_strings_never_fail_the_log(client: FlaskClient, pages_of_events: None) -> None:
    for name in RESERVED_NAMES + FILTER_NAMES:
        for value in NASTY_VALUES:
            query = {"action": "keys.retire", name: value}
            if name != "before":
                query["before"] = "55"  # the pager's "Newest" link shows too
            _no_error_and_relative_links(client, query)


def test_an_out_of_range_cursor_is_no_cursor_and_keeps_the_filters(
    client: FlaskClient, pages_of_events: None
) -> None:
    for before in ("99999999999999999999999", "-5", "0", str(2**63)):
        page = _no_error_and_relative_links(client, {"action": "keys.retire", "before": before})
        assert page.count("<code>keys.retire</code>") == 50, before
        assert 'value="keys.retire"' in page, "what the user typed stays in the form"
        assert "Newest" not in page, "the first page has no link to itself"


def test_a_date_that_overflows_is_a_form_error(client: FlaskClient, pages_of_events: None) -> None:
    page = _no_error_and_relative_links(client, {"until": "9999-12-31", "action": "keys.retire"})
    assert "Enter a date before 9999-12-31" in page
    assert 'value="9999-12-31"' in page
    nul = _no_error_and_relative_links(client, {"actor": "a\x00b"})
    assert "control characters" in nul


def test_reserved_url_for_names_do_not_reach_the_paging_links(
    client: FlaskClient, pages_of_events: None
) -> None:
    page = _no_error_and_relative_links(
        client, {"action": "keys.retire", "_external": "1", "_anchor": "x", "endpoint": "y"}
    )
    link = re.search(r'href="(/audit\?[^"]*before=\d+[^"]*)"', page)
    assert link, "no link to older events"
    parts = urlsplit(unescape(link.group(1)))
    assert parts.path == "/audit" and not parts.fragment
    assert set(parse_qs(parts.query)) == {"action", "before"}


query_names = st.sampled_from(RESERVED_NAMES + FILTER_NAMES) | st.text(max_size=10)
query_values = (
    st.sampled_from(NASTY_VALUES)
    | st.integers().map(str)
    | st.dates().map(str)
    | st.text(max_size=40)
)


@settings(
    database=None,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # GETs change nothing
)
@given(query=st.dictionaries(query_names, query_values, max_size=6))
def test_fuzzed_query_strings_never_fail_the_log(
    client: FlaskClient, pages_of_events: None, query: dict[str, str]
) -> None:
    _no_error_and_relative_links(client, {"action": "keys.retire", **query})


def test_the_provenance_trail_shows_sources_evidence_and_changes(
    client: FlaskClient, trail: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = _page(client, f"/audit/incidents/{trail.incident.reference}")
    assert "ab" * 32 in page, "the evidence hash"
    assert "evidence.received" in page or "record.create" in page
    assert '<strong class="grade">B</strong>' in page, "source reliability"
    assert '<strong class="grade">2</strong>' in page, "credibility"
    assert "secret.decrypt" in page, "the researcher's view is in the trail"
    assert trail.users["researcher"].email in page
    _no_canary(page)


def test_another_teams_incident_is_not_found(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    _page(client, f"/audit/incidents/{world.other_incident.reference}", 404)
    _page(client, "/audit/incidents/INC-1999-0001", 404)
    _page(client, "/audit/incidents/not-a-reference", 404)


def test_verify_now_signs_a_checkpoint_the_auditor_can_keep(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = _page(client, "/audit/verify")
    with client.application.app_context():
        signer = audit_signer()
    assert signer.verifier.vkey in page
    response = client.post(
        "/audit/verify", data={"csrf_token": csrf_token(client, "/audit/verify")}
    )
    assert response.status_code == 200
    result = response.get_data(as_text=True)
    assert "The log verifies" in result
    note = unescape(re.search(r'<pre class="secret-key">(.*?)</pre>', result, re.S).group(1))
    checkpoint = open_checkpoint(note, signer.verifier)
    assert checkpoint.origin == client.application.config["INCIDENTS_SETTINGS"].audit_log_origin
    assert "audit.checkpoint" in _page(client, "/audit?action=audit.")
    _no_canary(result)


def _checkpoint_events(db_session: Session) -> int:
    return int(
        db_session.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'audit.checkpoint'")
        ).scalar_one()
    )


def test_verify_now_waits_five_minutes_after_the_last_checkpoint_and_says_until_when(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    """Each verification reads the whole log and appends an event: not on every click.
    Asked too soon, the page is an ordinary one that says when the next can run."""
    as_role("auditor")
    token = csrf_token(client, "/audit/verify")
    first = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    note = unescape(re.search(r'<pre class="secret-key">(.*?)</pre>', first, re.S).group(1))
    position = db_session.execute(
        text("SELECT max(id) FROM audit_events WHERE action = 'audit.checkpoint'")
    ).scalar_one()
    assert _checkpoint_events(db_session) == 1

    recorded = db_session.get(AuditEvent, position)
    assert recorded is not None
    verified_at = recorded.occurred_at
    next_at = (verified_at + VERIFY_INTERVAL).strftime("%H:%M:%S")
    assert "Verify now can run again at <time" in first and f">{next_at}</time>" in first

    again = client.post("/audit/verify", data={"csrf_token": token})
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "The log verifies" not in page
    assert "Not verified again yet" in page
    assert f"event {position}" in page, "says which checkpoint"
    assert re.search(r"verified at <time[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", page)
    assert f'can start at <time datetime="{(verified_at + VERIFY_INTERVAL).isoformat()}' in page
    assert f">{next_at}</time> UTC" in page
    assert note in unescape(page), "the last checkpoint is shown to keep"
    assert _checkpoint_events(db_session) == 1, "no new checkpoint was recorded"

    visit = _page(client, "/audit/verify")  # a plain visit says it too, before any click
    assert "Verify now can run again at <time" in visit and f">{next_at}</time>" in visit


def test_verify_now_runs_again_once_five_minutes_have_passed(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    token = csrf_token(client, "/audit/verify")
    client.post("/audit/verify", data={"csrf_token": token})
    later = utcnow() + VERIFY_INTERVAL + timedelta(seconds=1)
    with patch("incidents.services.auditor.utcnow", return_value=later):
        assert "can run again" not in _page(client, "/audit/verify")
        again = client.post("/audit/verify", data={"csrf_token": token})
    assert again.status_code == 200
    assert "The log verifies" in again.get_data(as_text=True)
    assert _checkpoint_events(db_session) == 2


def test_the_last_checkpoint_downloads_as_a_file(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    none_yet = client.get("/audit/checkpoint")
    assert none_yet.status_code == 302 and none_yet.headers["Location"].endswith("/audit/verify")
    assert "No checkpoint has been recorded yet" in _page(client, "/audit/verify")
    assert "/audit/checkpoint" not in _page(client, "/audit/verify"), "no link to nothing"

    token = csrf_token(client, "/audit/verify")
    result = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    note = unescape(re.search(r'<pre class="secret-key">(.*?)</pre>', result, re.S).group(1))
    assert 'href="/audit/checkpoint" download' in result
    response = client.get("/audit/checkpoint")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="audit-log-\d{8}T\d{6}Z-\d+-events\.checkpoint"', disposition
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data(as_text=True) == note, "the file is the checkpoint shown"
    with client.application.app_context():
        checkpoint = open_checkpoint(response.get_data(as_text=True), audit_signer().verifier)
    assert f"-{checkpoint.size}-events.checkpoint" in disposition
    assert 'href="/audit/checkpoint" download' in _page(client, "/audit/verify")


def test_event_details_read_as_words_never_as_python(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    record_event(
        db_session,
        Actor("someone@example.org"),
        FUZZED,
        detail={"second_factor": None, "roles": ["admin", "auditor"], "teams": [], "ok": True},
    )
    db_session.flush()
    as_role("auditor")
    page = _page(client, "/audit?action=keys.retire")
    assert "None" not in page and "[" not in page and "True" not in page
    assert "<dt>roles</dt> <dd>admin, auditor</dd>" in page
    assert "<dt>second_factor</dt> <dd>—</dd>" in page
    assert "<dt>teams</dt> <dd>—</dd>" in page
    assert "<dt>ok</dt> <dd>yes</dd>" in page


def test_a_record_links_to_every_event_about_it(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    someone = world.users["researcher"]
    record_event(db_session, Actor("someone@example.org"), FUZZED, target=someone)
    db_session.flush()
    as_role("auditor")
    page = _page(client, "/audit?action=keys.retire")
    link = f'href="/audit?record={someone.id}"'
    assert link in page, "a record without a reference links to its own events by id"
    assert f'<code class="events__id-short">{someone.id}</code>' in page, "the whole id is there"
    assert _page(client, f"/audit?record={someone.id}").count("<code>keys.retire</code>") == 1
    incident = world.incident.reference
    assert f'href="/audit/incidents/{incident}"' in _page(client, f"/audit?record={incident}")


def test_verify_now_reports_tampering(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    token = csrf_token(client, "/audit/verify")
    sequencer.integrate_queued(db_session)  # event 1 is a leaf of the tree (PostgreSQL queues)
    name = db_session.get_bind().dialect.name
    if name == "postgresql":
        db_session.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
    else:
        db_session.execute(text("DROP TRIGGER audit_events_refuse_update"))
    db_session.execute(text("UPDATE audit_events SET actor = 'innocent' WHERE id = 1"))
    result = client.post("/audit/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "fails verification" in result
    assert "event 1 does not match" in result


def test_the_nav_shows_the_audit_link_to_auditors_only(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    assert 'href="/audit"' in _page(client, "/incidents")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})
    as_role("researcher")
    assert 'href="/audit"' not in _page(client, "/incidents")


@pytest.mark.parametrize(("role", "linked"), [("auditor", True), ("researcher", False)])
def test_the_incident_page_links_to_its_provenance_for_auditors(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    role: str,
    linked: bool,
) -> None:
    as_role(role)
    page = _page(client, f"/incidents/{world.incident.reference}")
    assert (f'href="/audit/incidents/{world.incident.reference}"' in page) is linked
