"""The forms made from the record registry: an incident recorded and edited, an act on a
person with its perpetrators, the official-response timeline, a person edited — each
through the generic create and update, each field labelled and each secret one marked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import Act, Incident, Involvement, StateResponse, User
from incidents.models.vocabularies import Attribution, DatePrecision, ViolationType
from tests.conftest import csrf_token
from tests.factories import ActFactory, PersonFactory, ReportFactory
from tests.helpers import count_events, events
from tests.web.conftest import World

REFUSED = 422


def _post(client: FlaskClient, path: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


@pytest.fixture
def researcher(signed_in: Callable[[str], User]) -> User:
    return signed_in("researcher")


def test_every_field_is_labelled_and_secret_ones_are_marked(
    client: FlaskClient, researcher: User
) -> None:
    page = client.get("/incidents/new").text
    for name in (
        "title",
        "summary",
        "narrative",
        "country",
        "region",
        "place_detail",
        "start_date",
        "end_date",
        "status",
        "estimated_victims",
    ):
        assert re.search(rf'<label[^>]*for="{name}"', page), name
    for secret in ("narrative", "place_detail"):
        label = re.search(rf'<label[^>]*for="{secret}"[^>]*>(.*?)</label>', page, re.S)
        assert label is not None and "Confidential" in label.group(1), secret
    title = re.search(r'<label[^>]*for="title"[^>]*>(.*?)</label>', page, re.S)
    assert title is not None and "Confidential" not in title.group(1)
    assert 'value="abduction"' in page  # vocabularies as choices, with their labels


def test_a_researcher_records_an_incident_with_a_fuzzy_date_and_edits_it(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    answer = _post(
        client,
        "/incidents/new",
        title="Detentions in Argun",
        summary="Several men detained.",
        narrative="Names and the precise street, confidential.",
        violation_types=["abduction", "torture_or_ill_treatment"],
        country="ru",
        region="Chechnya",
        start_date="2017-02",
        status="reported",
        estimated_victims="12",
        team=str(world.team.id),
    )
    assert answer.status_code == 302, answer.text
    reference = answer.location.rsplit("/", 1)[-1]
    incident = db_session.scalars(select(Incident).where(Incident.reference == reference)).one()
    assert incident.country == "RU"
    assert incident.start_precision is DatePrecision.MONTH
    assert set(incident.violation_types) == {ViolationType.ABDUCTION, ViolationType.TORTURE}
    form = client.get(f"/incidents/{reference}/edit").text
    assert 'value="2017-02"' in form  # shown as precisely as it is known, no more
    assert "Names and the precise street, confidential." in form
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, incident) >= 1
    lock = re.search(r'name="lock_version" type="hidden" value="(\d+)"', form)
    assert lock is not None
    answer = _post(
        client,
        f"/incidents/{reference}/edit",
        title="Detentions in Argun",
        summary="Several men detained.",
        narrative="Names and the precise street, confidential.",
        violation_types=["abduction"],
        country="RU",
        region="Chechnya",
        start_date="2017-02",
        end_date="",
        place_detail="",
        status="under_verification",
        estimated_victims="12",
        lock_version=lock.group(1),
    )
    assert answer.status_code == 302, answer.text
    change = events(db_session, AuditAction.RECORD_UPDATE, incident)[-1]
    assert sorted(change.fields) == ["status", "violation_types"]


def test_an_end_before_the_start_is_refused_beside_the_end(
    client: FlaskClient, world: World, researcher: User
) -> None:
    answer = _post(
        client,
        "/incidents/new",
        title="Dates the wrong way round",
        start_date="2017-05-01",
        end_date="2017-04-01",
        team=str(world.team.id),
    )
    assert answer.status_code == REFUSED
    assert "The end cannot be before the start." in answer.text
    assert 'value="Dates the wrong way round"' in answer.text


def test_an_act_with_attribution_and_a_perpetrator_with_secret_names(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    person = PersonFactory(team_id=world.team.id)
    reference = world.incident.reference
    answer = _post(
        client,
        f"/incidents/{reference}/acts/new",
        person=person.reference,
        act_type="disappeared",
        start_date="2017-03-02",
        end_status="still_missing",
        attribution="acknowledge_act_deny_responsibility",
        notes="Seen last at the checkpoint.",
    )
    assert answer.status_code == 302, answer.text
    act = db_session.scalars(select(Act).where(Act.person_id == person.id)).one()
    assert act.incident_id == world.incident.id and act.team_id == world.team.id
    assert act.attribution is Attribution.DENY_RESPONSIBILITY
    answer = _post(
        client,
        f"/acts/{act.id}/perpetrators/new",
        perpetrator_kind="police",
        perpetrator_names="Officer K.",
        units="Unit 7",
        degree="carried_out",
    )
    assert answer.status_code == 302, answer.text
    page = client.get(f"/incidents/{reference}").text
    assert "Officer K." in page and "Unit 7" in page
    assert person.reference in page
    involvement = db_session.scalars(select(Involvement).where(Involvement.act_id == act.id)).one()
    assert involvement.perpetrator_names != b"Officer K."
    assert client.get(f"/acts/{act.id}/edit").status_code == 200
    assert client.get(f"/perpetrators/{involvement.id}/edit").status_code == 200


def test_an_act_on_a_person_of_another_team_is_refused(
    client: FlaskClient, world: World, researcher: User
) -> None:
    theirs = PersonFactory(team_id=world.other_team.id)
    answer = _post(
        client,
        f"/incidents/{world.incident.reference}/acts/new",
        person=theirs.reference,
        act_type="tortured",
    )
    assert answer.status_code == REFUSED
    assert f"There is no person {theirs.reference} in this team" in answer.text


def test_the_official_response_timeline_links_its_supporting_report(
    client: FlaskClient, world: World, researcher: User, db_session: Session
) -> None:
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    reference = world.incident.reference
    answer = _post(
        client,
        f"/incidents/{reference}/responses/new",
        kind="denial",
        date="2017-04",
        authority="Ministry of the Interior",
        description="Denied any detentions took place.",
        supporting_report=report.reference,
    )
    assert answer.status_code == 302, answer.text
    response = db_session.scalars(
        select(StateResponse).where(StateResponse.incident_id == world.incident.id)
    ).one()
    page = client.get(f"/incidents/{reference}").text
    assert "Ministry of the Interior" in page and report.reference in page
    assert f"/responses/{response.id}/edit" in page


def test_another_teams_act_cannot_be_edited(
    client: FlaskClient, world: World, researcher: User
) -> None:
    theirs = ActFactory(
        team_id=world.other_team.id,
        incident_id=world.other_incident.id,
        person_id=PersonFactory(team_id=world.other_team.id).id,
    )
    assert client.get(f"/acts/{theirs.id}/edit").status_code == 404
    assert client.get(f"/acts/{theirs.id}/perpetrators/new").status_code == 404


def test_a_person_is_edited_and_found_by_the_new_name(
    client: FlaskClient, world: World, researcher: User
) -> None:
    person = PersonFactory(team_id=world.team.id, secrets={"full_name": "Old Name"})
    form = client.get(f"/people/{person.reference}/edit")
    assert form.status_code == 200 and "Old Name" in form.text
    lock = re.search(r'name="lock_version" type="hidden" value="(\d+)"', form.text)
    assert lock is not None
    answer = _post(
        client,
        f"/people/{person.reference}/edit",
        full_name="Зелимхан Бакаев",
        aliases="Zelimkhan Bakaev",
        date_of_birth="",
        contact="",
        gender="man",
        age_band="30_49",
        lock_version=lock.group(1),
    )
    assert answer.status_code == 302, answer.text
    found = _post(client, "/people", q="Bakaev")
    assert person.reference in found.text
