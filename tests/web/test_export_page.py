"""The export page: each role is offered the exports it may make; the download streams
as an attachment, after its audit event is committed; a full export asks for the
password again when it was entered a while ago; a user's export holds their teams only."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from incidents.audit.log import pending_events
from incidents.models import User, UserSession
from incidents.records.kinds import KINDS
from incidents.services import export
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import events
from tests.web.conftest import World

OFFERED = re.compile(r'name="profile"[^>]*value="([a-z]+)"')
NARRATIVE = "CANARY-narrative-7Q2"  # the world's incident, its team's secret
OTHER_TEAM = "CANARY-other-team-3K8"  # the other team's incident


def _post(client: FlaskClient, **fields: str) -> Any:
    data = {"csrf_token": csrf_token(client, "/export"), **fields}
    return client.post("/export", data=data)


def _stale(db_session: Session, user: User | None) -> None:
    """The user's password was last entered an hour ago."""
    assert user is not None
    db_session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(confirmed_at=datetime.now(UTC) - timedelta(hours=1))
    )


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("researcher", ["full", "internal", "partner", "public"]),
        ("advocacy_lead", ["partner", "public"]),
        ("auditor", ["internal"]),
    ],
)
def test_each_role_is_offered_the_exports_it_may_make(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    role: str,
    offered: list[str],
) -> None:
    as_role(role)
    page = client.get("/export").get_data(as_text=True)
    assert OFFERED.findall(page) == offered
    assert world.team.name in page, "the page says whose records the export holds"
    assert world.other_team.name not in page


def test_the_summaries_page_links_to_the_export_page(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    assert 'href="/export"' in client.get("/summaries").get_data(as_text=True)


def test_an_internal_export_streams_after_its_event_is_committed(
    client: FlaskClient,
    world: World,
    db_session: Session,
    as_role: Callable[[str], User | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = as_role("researcher")
    assert user is not None
    unwritten: list[int] = []
    streamed = export.stream_export

    def watched(ctx: Any, plan: Any, *args: Any) -> Iterator[bytes]:
        for index, chunk in enumerate(streamed(ctx, plan, *args)):
            if index == 0:  # the audit event must be committed before the first byte
                unwritten.append(pending_events(ctx.session))
            yield chunk

    monkeypatch.setattr(export, "stream_export", watched)
    before = len(events(db_session, "export"))

    response = _post(client, profile="internal", format="json")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="incidents-records-internal-')
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.get_data())
    assert unwritten == [0]
    assert document["format"] == "incidents-records/1"
    assert document["teams"] == [{"slug": world.team.slug, "name": world.team.name}]
    (incident,) = document["records"]["incident"]
    assert incident["id"] == str(world.incident.id)
    assert "narrative" in incident["withheld"]
    body = response.get_data(as_text=True)
    assert NARRATIVE not in body and OTHER_TEAM not in body

    exports = events(db_session, "export")
    assert len(exports) == before + 1
    assert exports[-1].actor == user.email
    assert exports[-1].detail is not None
    assert exports[-1].detail["counts"]["incident"] == 1
    assert exports[-1].detail["teams"] == [world.team.slug]


def test_a_full_export_asks_for_the_password_again(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    user = as_role("researcher")
    _stale(db_session, user)
    before = len(events(db_session, "export"))

    response = _post(client, profile="full", format="json")

    assert response.status_code == 302
    assert response.location.startswith("/reauthenticate?next=/export")
    assert len(events(db_session, "export")) == before, "nothing exported, nothing recorded"
    # Internal opens nothing: it needs no new confirmation.
    assert _post(client, profile="internal", format="json").status_code == 200

    confirmed = client.post(
        "/reauthenticate?next=/export",
        data={"password": DEFAULT_PASSWORD, "csrf_token": csrf_token(client, "/reauthenticate")},
    )
    assert confirmed.status_code == 302
    response = _post(client, profile="full", format="json")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert NARRATIVE in body, "full opens the team's secrets"
    assert OTHER_TEAM not in body, "and no other team's"


def test_a_csv_export_of_records_is_a_zip_of_one_csv_per_kind(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    response = _post(client, profile="internal", format="csv")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert archive.namelist() == [f"{kind.name}.csv" for kind in KINDS]
        text = archive.read("incident.csv").decode()
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert row["reference"] == world.incident.reference


def test_a_csv_export_of_summaries_is_one_csv(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("advocacy_lead")
    response = _post(client, profile="partner", format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).startswith("reference,violation_types,")


def test_an_export_not_offered_is_refused_and_not_recorded(
    client: FlaskClient, world: World, db_session: Session, as_role: Callable[[str], User | None]
) -> None:
    as_role("advocacy_lead")
    before = len(events(db_session, "export"))
    for fields in ({"profile": "full", "format": "json"}, {"profile": "partner", "format": "xml"}):
        response = _post(client, **fields)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "Nothing was exported" in page
    assert "Choose what to export" in _post(client, format="json").get_data(as_text=True)
    assert len(events(db_session, "export")) == before
