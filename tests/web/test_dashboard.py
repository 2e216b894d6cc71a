"""The dashboard page and the calendar feed over HTTP: charts as SVG that the strict CSP
lets render (no script, no style attribute) with a table of the same numbers beside each;
no restricted or secret value of a case on the page; a feed token shown once, kept as a
hash, opening a feed of titles only until it is replaced or turned off."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.models import IncidentViolation, User
from incidents.models.vocabularies import DatePrecision, Impact, ViolationType
from tests.conftest import csrf_token
from tests.factories import (
    ActFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    FollowUpFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
)
from tests.web.conftest import World

CANARIES = (
    "CANARY-narrative-7Q2",
    "CANARY-place-9Z4",
    "CANARY-other-team-3K8",
    "CANARY-report-title-2D5",
    "CANARY-report-narrative-6H1",
    "CANARY-source-identity-4M6",
    "CANARY-person-name-8P3",
    "CANARY-act-notes-1A9",
    "CANARY-consent-notes-7C2",
    "CANARY-rejection-3R3",
    "2017-03-14",  # an incident's start day is restricted; its month is public
)
_FEED_URL = re.compile(r'value="(http://localhost/calendar/([A-Za-z0-9_-]+)\.ics)"')


def _case_with_canaries(world: World) -> None:
    team = world.team.id
    incident = IncidentFactory(
        team_id=team,
        start_date=dt.date(2017, 3, 14),
        start_precision=DatePrecision.DAY,
        violations=[IncidentViolation(violation_type=ViolationType.TORTURE)],
        region="Grozny <b>district</b>",
    )
    source = SourceFactory(team_id=team, secrets={"identity": "CANARY-source-identity-4M6"})
    person = PersonFactory(team_id=team, secrets={"full_name": "CANARY-person-name-8P3"})
    ActFactory(
        team_id=team,
        incident_id=incident.id,
        person_id=person.id,
        secrets={"notes": "CANARY-act-notes-1A9"},
    )
    ConsentFactory(team_id=team, person_id=person.id, secrets={"notes": "CANARY-consent-notes-7C2"})
    ReportFactory(
        team_id=team,
        source_id=source.id,
        incident_id=incident.id,
        title="CANARY-report-title-2D5",
        rejection_reason="CANARY-rejection-3R3",
        secrets={"narrative": "CANARY-report-narrative-6H1"},
    )
    action = AdvocacyActionFactory(
        team_id=team, start_date=dt.date(2017, 4, 2), impact=Impact.POSITIVE
    )
    FollowUpFactory(action_id=action.id, due_on=dt.date.today() - dt.timedelta(days=2))
    FollowUpFactory(
        action_id=action.id,
        due_on=dt.date.today() + dt.timedelta(days=3),
        description="Call the <embassy> again",
    )


def test_the_page_has_svg_charts_under_the_csp_with_their_tables(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    _case_with_canaries(world)
    as_role("advocacy_lead")

    response = client.get("/dashboard")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 4  # incidents by month, by region, actions, consent coverage
    for svg in svgs:
        assert "<script" not in svg and "<style" not in svg
        assert not re.search(r"\sstyle=", svg)
        assert re.search(r'viewBox="0 0 \d+ \d+" width="100%"', svg)
        assert re.search(r"<title id=\"chart-[a-z]+-title\">[^<]+</title>", svg)
        assert 'role="img"' in svg and "aria-labelledby=" in svg
    # The charts need no script: the page's one is the quick exit's, from a file.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/quick_exit.js" defer>']
    assert not re.search(r"\sstyle=", page)
    for table in ("table-incidents", "table-regions", "table-actions", "table-coverage"):
        assert f'id="{table}"' in page
    assert "2017-03" in page and "torture or ill-treatment" in page
    # Data is escaped in the charts and the tables alike.
    assert "<b>district</b>" not in page and "Grozny &lt;b&gt;district&lt;/b&gt;" in page
    assert "Call the &lt;embassy&gt; again" in page
    assert 'id="table-overdue"' in page and 'id="table-due"' in page
    assert "/advocacy/actions/ACT-" in page


def test_no_restricted_or_secret_case_value_reaches_the_dashboard(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    _case_with_canaries(world)
    for role in ("advocacy_lead", "researcher", "auditor"):
        as_role(role)
        page = client.get("/dashboard").get_data(as_text=True)
        for canary in CANARIES:
            assert canary not in page, (role, canary)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})


def test_another_teams_records_are_not_counted(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    IncidentFactory(team_id=world.other_team.id, region="Elsewhere-region-9")
    other_action = AdvocacyActionFactory(team_id=world.other_team.id)
    FollowUpFactory(action_id=other_action.id, due_on=dt.date.today())
    as_role("advocacy_lead")

    page = client.get("/dashboard").get_data(as_text=True)

    assert "Elsewhere-region-9" not in page and other_action.reference not in page


def test_a_bad_range_is_refused_with_what_was_typed(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")

    response = client.get("/dashboard?from=2017-14&to=2017-03")
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "Give the month as YYYY-MM" in page and 'value="2017-14"' in page


def test_the_feed_token_is_shown_once_and_opens_titles_only(
    client: FlaskClient,
    db_session: Session,
    world: World,
    as_role: Callable[[str], User | None],
) -> None:
    lead = as_role("advocacy_lead")
    assert lead is not None
    action = AdvocacyActionFactory(team_id=world.team.id)
    FollowUpFactory(
        action_id=action.id,
        assignee_id=lead.id,
        due_on=dt.date(2017, 7, 1),
        description="CANARY-follow-up-4F4",
    )
    account = client.get("/account").get_data(as_text=True)
    assert "Calendar feed" in account and "Make a feed address" in account

    made = client.post("/account/calendar", data={"csrf_token": csrf_token(client, "/account")})
    shown = _FEED_URL.search(made.get_data(as_text=True))

    assert made.status_code == 200 and shown is not None
    url, token = shown.groups()
    db_session.refresh(lead)
    assert lead.calendar_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in client.get("/account").get_data(as_text=True)

    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    feed = client.get(url.removeprefix("http://localhost"))
    body = feed.get_data(as_text=True)
    assert feed.status_code == 200
    assert feed.mimetype == "text/calendar"
    assert feed.headers["Cache-Control"] == "no-store"
    assert f"SUMMARY:Follow-up on {action.reference}" in body
    assert "CANARY" not in body and action.title not in body


def test_a_replaced_or_revoked_token_or_a_disabled_user_is_the_same_404(
    client: FlaskClient,
    db_session: Session,
    world: World,
    as_role: Callable[[str], User | None],
) -> None:
    lead = as_role("advocacy_lead")
    assert lead is not None

    def new_token() -> str:
        made = client.post("/account/calendar", data={"csrf_token": csrf_token(client, "/account")})
        shown = _FEED_URL.search(made.get_data(as_text=True))
        assert shown is not None
        return shown.group(2)

    calendar_app = client.application.test_client()  # no session, as a calendar reads it
    first = new_token()
    second = new_token()
    unknown = calendar_app.get("/calendar/" + "z" * 43 + ".ics")
    assert unknown.status_code == 404
    replaced = calendar_app.get(f"/calendar/{first}.ics")
    assert replaced.status_code == 404 and replaced.data == unknown.data
    assert calendar_app.get(f"/calendar/{second}.ics").status_code == 200

    revoked = client.post(
        "/account/calendar/revoke", data={"csrf_token": csrf_token(client, "/account")}
    )
    assert revoked.status_code == 302
    assert calendar_app.get(f"/calendar/{second}.ics").data == unknown.data

    third = new_token()
    db_session.refresh(lead)
    lead.is_active = False
    db_session.flush()
    disabled = calendar_app.get(f"/calendar/{third}.ics")
    assert disabled.status_code == 404 and disabled.data == unknown.data


def test_the_admin_gets_no_feed(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("admin")
    assert "Calendar feed" not in client.get("/account").get_data(as_text=True)
    refused = client.post("/account/calendar", data={"csrf_token": csrf_token(client, "/account")})
    assert refused.status_code == 403
