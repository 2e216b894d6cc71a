"""The generic resources of /api/v1: each kind listed, read, created and changed through
the same services as its pages, as the reader may see it, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.services.erasure import erase_record
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import (
    ActFactory,
    AdvocacyActionFactory,
    IncidentFactory,
    PersonFactory,
)
from tests.helpers import count_events, count_statements
from tests.web.conftest import World

Client = Callable[..., TokenClient]


def _bodies(world: World) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """For each writable resource: the role that writes it, a new record and a change."""
    team = world.team.slug
    incident = world.incident.reference
    person = PersonFactory(team_id=world.team.id)
    act = ActFactory(team_id=world.team.id, incident_id=world.incident.id, person_id=person.id)
    action = AdvocacyActionFactory(team_id=world.team.id)
    return {
        "incidents": (
            "researcher",
            {"team": team, "title": "Detention at a checkpoint", "start_date": "2017-04"},
            {"title": "Detention at the northern checkpoint"},
        ),
        "sources": ("researcher", {"team": team, "kind": "witness"}, {"reliability": "B"}),
        "reports": (
            "researcher",
            {
                "team": team,
                "title": "A neighbour's account",
                "received_on": "2017-04-20",
                "channel": "interview",
                "incident": incident,
            },
            {"credibility": 2},
        ),
        "state_responses": (
            "researcher",
            {"team": team, "incident": incident, "kind": "denial", "authority": "The ministry"},
            {"authority": "The regional ministry"},
        ),
        "people": ("researcher", {"team": team, "full_name": "Zara Ilyasova"}, {"gender": "woman"}),
        "acts": (
            "researcher",
            {
                "team": team,
                "person": person.reference,
                "incident": incident,
                "act_type": "detained",
            },
            {"end_status": "released"},
        ),
        "involvements": (
            "researcher",
            {"team": team, "act": str(act.id), "perpetrator_kind": "police"},
            {"degree": "ordered"},
        ),
        "organisations": (
            "advocacy_lead",
            {"name": "A partner organisation", "kind": "ngo"},
            {"website": "https://partner.example.org"},
        ),
        "campaigns": ("advocacy_lead", {"team": team, "name": "Free them"}, {"name": "Free all"}),
        "advocacy_actions": (
            "advocacy_lead",
            {"team": team, "kind": "petition", "title": "Release the detained"},
            {"signatures": 1200},
        ),
        "action_responses": (
            "advocacy_lead",
            {"action": action.reference, "kind": "denial", "text": "No one is detained."},
            {"kind": "request_for_information"},
        ),
    }


WRITABLE = [
    "incidents",
    "sources",
    "reports",
    "state_responses",
    "people",
    "acts",
    "involvements",
    "organisations",
    "campaigns",
    "advocacy_actions",
    "action_responses",
]


@pytest.mark.parametrize("plural", WRITABLE)
def test_a_resource_is_created_read_listed_and_changed(
    plural: str, api_client: Client, world: World
) -> None:
    role, body, change = _bodies(world)[plural]
    client = api_client(role)

    created = client.post(f"/{plural}", body)
    assert created.status_code == 201, created.get_json()
    doc = created.get_json()
    assert created.headers["ETag"] == '"1"'
    location = created.headers["Location"]
    assert location == f"/api/v1/{plural}/{doc.get('reference') or doc['id']}"

    read = client.get(location)
    assert read.status_code == 200
    assert read.get_json()["id"] == doc["id"]
    assert read.headers["ETag"] == '"1"'
    listed = client.get(f"/{plural}?limit=200").get_json()
    assert doc["id"] in {item["id"] for item in listed["items"]}

    changed = client.patch(location, change, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] == '"2"'
    after = client.get(location).get_json()
    assert after["lock_version"] == 2
    for name, value in change.items():
        assert after[name] == value


def test_a_researcher_reads_secrets_opened_and_audited_and_lists_them_sealed(
    api_client: Client, world: World, db_session: Session
) -> None:
    client = api_client("researcher")
    before = count_events(db_session, AuditAction.SECRET_DECRYPT, world.incident)

    listed = client.get("/incidents").get_json()["items"]
    [mine] = [item for item in listed if item["id"] == str(world.incident.id)]
    assert mine["sealed"] == ["narrative", "place_detail"]
    assert "narrative" not in mine
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, world.incident) == before

    doc = client.get(f"/incidents/{world.incident.reference}").get_json()
    assert doc["narrative"] == "CANARY-narrative-7Q2"
    assert doc["place_detail"] == "CANARY-place-9Z4"
    assert "sealed" not in doc and "withheld" not in doc
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, world.incident) == before + 1


def test_an_advocacy_lead_sees_what_the_pages_show_and_no_case_detail(
    api_client: Client, world: World, db_session: Session
) -> None:
    client = api_client("advocacy_lead")
    response = client.get(f"/incidents/{world.incident.reference}")
    text = response.get_data(as_text=True)
    doc = response.get_json()
    assert doc["title"] == world.incident.title
    assert {"narrative", "place_detail", "start_date", "created_at"} <= set(doc["withheld"])
    assert "CANARY" not in text and "start_date" not in doc and "start_precision" not in doc
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, world.incident) == 0
    # Reports, sources and people are not the advocacy lead's pages, nor their API.
    for path in ("/reports", "/sources", "/people", "/consents"):
        assert problem(client.get(path))["status"] == 403
    # An action is theirs to write; a case record is not.
    assert client.post("/incidents", {"team": world.team.slug, "title": "x"}).status_code == 403


def test_an_auditor_reads_restricted_fields_never_secrets_and_writes_nothing(
    api_client: Client, world: World, db_session: Session
) -> None:
    client = api_client("auditor")
    doc = client.get(f"/incidents/{world.incident.reference}").get_json()
    assert doc["start_date"] == "2017-03" and doc["created_at"]
    assert doc["withheld"] == ["narrative", "place_detail"]
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, world.incident) == 0
    assert client.get("/reports").status_code == 200
    assert client.get("/people").status_code == 403
    change = client.patch(
        f"/incidents/{world.incident.reference}", {"title": "x"}, headers={"If-Match": '"1"'}
    )
    assert problem(change)["status"] == 403


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_another_teams_record_is_not_found_exactly_like_none(
    method: str, api_client: Client, world: World
) -> None:
    client = api_client("researcher")
    headers = {"If-Match": '"1"'}
    body = {"title": "Taken over"} if method == "PATCH" else None
    other = client.open(
        method, f"/incidents/{world.other_incident.reference}", body, headers=headers
    )
    by_id = client.open(method, f"/incidents/{world.other_incident.id}", body, headers=headers)
    none = client.open(method, "/incidents/INC-2017-9999", body, headers=headers)
    assert other.status_code == by_id.status_code == none.status_code == 404
    assert other.get_json() == by_id.get_json() == none.get_json()
    listed = client.get("/incidents?limit=200").get_json()["items"]
    assert str(world.other_incident.id) not in {item["id"] for item in listed}
    assert "CANARY-other-team" not in other.get_data(as_text=True)


def test_a_record_is_not_created_in_another_team(api_client: Client, world: World) -> None:
    client = api_client("researcher")
    refused = client.post("/incidents", {"team": world.other_team.slug, "title": "Planted"})
    assert field_errors(refused)["team"].startswith("There is no team")
    report = client.post(
        "/reports",
        {
            "team": world.team.slug,
            "title": "Linked across teams",
            "received_on": "2017-04-20",
            "channel": "interview",
            "incident": world.other_incident.reference,
        },
    )
    assert "incident" in field_errors(report)


def test_an_edit_from_an_old_version_is_a_conflict_that_loses_nothing(
    api_client: Client, world: World
) -> None:
    client = api_client("researcher")
    path = f"/incidents/{world.incident.reference}"
    first = client.patch(path, {"title": "First"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200

    stale = client.patch(path, {"title": "Second"}, headers={"If-Match": '"1"'})
    body = problem(stale)
    assert stale.status_code == 409
    assert body["type"] == "/api/v1/problems/edit-conflict"
    assert body["current_version"] == 2 and stale.headers["ETag"] == '"2"'
    assert client.get(path).get_json()["title"] == "First"

    again = client.patch(path, {"title": "Second"}, headers={"If-Match": stale.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["title"] == "Second"


@pytest.mark.parametrize(
    ("if_match", "status"),
    [(None, 428), ('W/"1"', 400), ("*", 400), ("one", 400), ('"1", "2"', 400)],
)
def test_a_change_needs_the_one_etag_read(
    if_match: str | None, status: int, api_client: Client, world: World
) -> None:
    client = api_client("researcher")
    headers = {} if if_match is None else {"If-Match": if_match}
    response = client.patch(
        f"/incidents/{world.incident.reference}", {"title": "x"}, headers=headers
    )
    assert problem(response)["status"] == status
    assert "If-Match" in problem(response)["detail"]
    assert client.get(f"/incidents/{world.incident.reference}").get_json()["title"] != "x"


def test_a_possible_duplicate_person_is_named_before_anyone_is_created(
    api_client: Client, world: World, db_session: Session
) -> None:
    client = api_client("researcher")
    existing = PersonFactory(team_id=world.team.id, secrets={"full_name": "Aslan Dudayev"})
    body = {"team": world.team.slug, "full_name": "Aslan Dudayev"}
    first = client.post("/people", body)
    assert problem(first)["type"] == "/api/v1/problems/possible-duplicates"
    assert existing.reference in first.get_json()["detail"]
    # The comparison decrypted the existing person: that is recorded, refused or not.
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, existing) >= 1

    confirmed = client.post("/people", {**body, "confirmed_different": True})
    assert confirmed.status_code == 201
    assert confirmed.get_json()["reference"] != existing.reference


def test_an_erased_record_is_gone(api_client: Client, world: World, ctx: Context) -> None:
    incident = IncidentFactory(team_id=world.team.id)
    erase_record(ctx, incident.reference, "consent_withdrawn")
    client = api_client("researcher")
    gone = client.get(f"/incidents/{incident.reference}")
    assert problem(gone)["type"] == "/api/v1/problems/erased"
    assert gone.status_code == 410
    listed = client.get("/incidents?limit=200").get_json()["items"]
    assert str(incident.id) not in {item["id"] for item in listed}
    change = client.patch(
        f"/incidents/{incident.reference}", {"title": "x"}, headers={"If-Match": '"1"'}
    )
    assert change.status_code == 410


def test_paging_walks_every_record_once(api_client: Client, world: World) -> None:
    for _ in range(6):
        IncidentFactory(team_id=world.team.id)
    client = api_client("researcher")
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = client.get(f"/incidents?limit=3{cursor}").get_json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next"] is None:
            break
        cursor = f"&cursor={page['next']}"
    everything = client.get("/incidents?limit=200").get_json()["items"]
    assert len(seen) == len(set(seen)) == len(everything) == 7
    assert pages == 3
    assert problem(client.get("/incidents?cursor=nonsense"))["status"] == 422


def test_lists_take_the_filters_of_their_pages_and_their_parents(
    api_client: Client, world: World
) -> None:
    closed = IncidentFactory(team_id=world.team.id, status="closed")
    person = PersonFactory(team_id=world.team.id)
    act = ActFactory(team_id=world.team.id, incident_id=closed.id, person_id=person.id)
    ActFactory(team_id=world.team.id, incident_id=world.incident.id, person_id=person.id)
    client = api_client("researcher")

    statuses = client.get("/incidents?status=closed").get_json()["items"]
    assert [item["id"] for item in statuses] == [str(closed.id)]
    region = client.get("/incidents?region=chechen").get_json()["items"]
    assert {item["id"] for item in region} >= {str(closed.id), str(world.incident.id)}
    for key in (closed.reference, str(closed.id)):
        acts = client.get(f"/acts?incident={key}").get_json()["items"]
        assert [item["id"] for item in acts] == [str(act.id)]

    assert "status" in field_errors(client.get("/incidents?status=lost"))
    assert "colour" in field_errors(client.get("/incidents?colour=red"))
    assert "limit" in field_errors(client.get("/incidents?limit=201"))
    elsewhere = client.get(f"/acts?incident={world.other_incident.reference}")
    assert "incident" in field_errors(elsewhere)


@pytest.mark.parametrize("plural", ["incidents", "advocacy_actions", "acts"])
def test_a_list_asks_the_database_a_fixed_number_of_statements(
    plural: str, api_client: Client, world: World, app: Flask
) -> None:
    client = api_client("researcher")
    person = PersonFactory(team_id=world.team.id)

    def add_one() -> None:
        IncidentFactory(team_id=world.team.id)
        AdvocacyActionFactory(team_id=world.team.id)
        ActFactory(team_id=world.team.id, incident_id=world.incident.id, person_id=person.id)

    add_one()
    client.get(f"/{plural}")  # the token's first use writes when it was used
    with count_statements(app) as few:
        assert len(client.get(f"/{plural}?limit=200").get_json()["items"]) >= 1
    for _ in range(14):
        add_one()
    with count_statements(app) as many:
        assert len(client.get(f"/{plural}?limit=200").get_json()["items"]) >= 15
    assert many.count == few.count, many
