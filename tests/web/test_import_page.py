"""The import page: a first send only checks, a file with problems lists each with its row
and field and imports nothing (the choices made kept), a file sent with the check
unticked is imported; the CSV templates; who may open it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import Campaign, Report, User
from tests.conftest import csrf_token
from tests.web.conftest import World

PAGE = "/import"


def _send(
    client: FlaskClient, data: bytes, filename: str, *, check: bool = True, **fields: str
) -> tuple[int, str]:
    form: dict[str, object] = {
        "csrf_token": csrf_token(client, PAGE),
        "file": (io.BytesIO(data), filename),
        **fields,
    }
    if check:
        form["dry_run"] = "y"
    response = client.post(PAGE, data=form, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def _reports(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def _csv(world: World, *rows: str) -> bytes:
    header = "id,team,title,received_on,channel\n"
    return (header + "".join(f"{row}\n" for row in rows)).encode()


def test_the_page_offers_the_users_teams_the_kinds_and_a_check(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    page = client.get(PAGE).get_data(as_text=True)
    assert world.team.name in page and world.other_team.name not in page
    assert '<input checked id="dry_run" name="dry_run" type="checkbox" value="y">' in page
    assert "/import/templates/report.csv" in page


def test_a_checked_file_changes_nothing_then_is_imported(
    client: FlaskClient, db_session: Session, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    before = _reports(db_session)
    data = _csv(world, "r1,,Seen at the checkpoint,2017-05-01,media")
    status, page = _send(client, data, "report.csv", team=world.team.slug)
    assert status == 200
    assert "report.csv can be imported: nothing was changed" in page
    assert _reports(db_session) == before
    status, page = _send(client, data, "report.csv", check=False, team=world.team.slug)
    assert status == 200 and "Imported report.csv" in page
    assert _reports(db_session) == before + 1


def test_problems_are_listed_with_row_and_field_and_nothing_is_imported(
    client: FlaskClient, db_session: Session, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    before = _reports(db_session)
    data = _csv(world, "r1,,Fine,2017-05-01,media", "r2,,Bad,yesterday,media")
    status, page = _send(
        client, data, "upload.csv", check=False, team=world.team.slug, kind="report"
    )
    assert status == 422
    assert "Nothing was imported: 1 problem in upload.csv" in page
    assert "report.csv line 3" in page and "Use a date like 2017-04-20." in page
    assert _reports(db_session) == before
    # The choices made are kept: the kind chosen, the check left unticked.
    assert '<option selected value="report">' in page
    assert '<input id="dry_run" name="dry_run" type="checkbox" value="y">' in page


def test_another_teams_team_is_refused_by_row(
    client: FlaskClient, db_session: Session, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    data = _csv(world, f"r1,{world.other_team.slug},T,2017-05-01,media")
    status, page = _send(client, data, "report.csv", check=False)
    assert status == 422
    assert f"{world.other_team.slug} is not one of your teams" in page


def test_a_zip_and_a_json_file_are_read(
    client: FlaskClient, db_session: Session, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("report.csv", _csv(world, f"r1,{world.team.slug},Zipped,2017-05-01,media"))
    status, page = _send(client, archive.getvalue(), "records.zip", check=False)
    assert status == 200, page
    assert db_session.scalars(select(Report).where(Report.title == "Zipped")).one()
    doc = {
        "team": world.team.slug,
        "title": "From JSON",
        "received_on": "2017-05-02",
        "channel": "media",
    }
    data = json.dumps({"records": {"report": [doc]}}).encode()
    status, page = _send(client, data, "records.json", check=False)
    assert status == 200, page
    assert db_session.scalars(select(Report).where(Report.title == "From JSON")).one()


def test_no_file_is_one_message(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    response = client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 422
    assert "Choose the file to import" in response.get_data(as_text=True)


def test_an_advocacy_lead_imports_advocacy_work_only(
    client: FlaskClient, db_session: Session, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("advocacy_lead")
    page = client.get(PAGE).get_data(as_text=True)
    assert "campaign.csv" in page and "incident.csv" not in page
    assert client.get("/import/templates/incident.csv").status_code == 404
    data = f"team,name\n{world.team.slug},Free them\n".encode()
    status, _page = _send(client, data, "campaign.csv", check=False)
    assert status == 200
    assert db_session.scalars(select(Campaign).where(Campaign.name == "Free them")).one()


def test_a_template_is_the_header_row(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    response = client.get("/import/templates/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="report.csv"'
    assert response.get_data(as_text=True).startswith("id,reference,team,title,source,incident")
    assert client.get("/import/templates/evidence.csv").status_code == 404


@pytest.mark.parametrize(("role", "status"), [("auditor", 403), ("admin", 403), ("anonymous", 302)])
def test_those_who_may_not_import_are_refused(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], role: str, status: int
) -> None:
    as_role(role)
    assert client.get(PAGE).status_code == status
    assert client.get("/import/templates/report.csv").status_code == status
