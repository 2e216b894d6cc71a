"""Attacks on the JSON API with real tokens, on SQLite and PostgreSQL: a list narrowed by
a link the reader may not see (an advocacy lead asking which acts are a person's), keys
and filters PostgreSQL refuses, every change tried with a token that only reads, a token
sent where a token is never read, bodies nested to exhaust a parser or as large as the
limit allows, a conflict that could echo what was typed or stored, and the audit log
telling another team's auditors what one team exported. Each is refused in the API's one
problem shape and says nothing it should not.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models.vocabularies import Role
from incidents.redaction import Profile
from incidents.services import export
from tests.api import conftest as api_conftest
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import (
    ActFactory,
    CampaignFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    StateResponseFactory,
    UserFactory,
)
from tests.helpers import count_events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]
api_client = api_conftest.api_client  # the fixture: a client with a token of any role
MiB = 1024 * 1024


# -- what a list may be narrowed by ----------------------------------------------------------


def test_a_list_is_not_narrowed_by_a_link_the_reader_may_not_see(
    api_client: ApiClient, world: World
) -> None:
    """An act's person, an act's incident, a perpetrator's act and an official response's
    report are withheld from an advocacy lead: a list narrowed by one would tell it."""
    person, nobody = PersonFactory(team_id=world.team.id), PersonFactory(team_id=world.team.id)
    act = ActFactory(team_id=world.team.id, person_id=person.id, incident_id=world.incident.id)
    InvolvementFactory(team_id=world.team.id, act_id=act.id)
    report = ReportFactory(team_id=world.team.id)
    StateResponseFactory(
        team_id=world.team.id, incident_id=world.incident.id, supporting_report_id=report.id
    )
    lead = api_client("advocacy_lead")
    for path, field, keys in (
        ("/acts", "person", (person.reference, nobody.reference, "PER-9999999")),
        ("/acts", "incident", (world.incident.reference, "INC-2017-9999999")),
        ("/involvements", "act", (str(act.id),)),
        ("/state_responses", "supporting_report", (report.reference, "RPT-2017-9999999")),
    ):
        answers = set()
        for key in keys:
            response = lead.get(f"{path}?{field}={key}")
            assert response.status_code == 422, (path, field)
            answers.add(json.dumps(field_errors(response), sort_keys=True))
        (answer,) = answers  # the same, whoever the link names
        assert "not shown to you" in json.loads(answer)[field]
    researcher = api_client("researcher")
    acts = researcher.get(f"/acts?person={person.reference}").get_json()["items"]
    assert [item["id"] for item in acts] == [str(act.id)], "a reader of the link may narrow"


# -- text PostgreSQL refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/incidents/INC-2017-%000001", 404),
        ("/people/PER-%00", 404),
        ("/advocacy_actions/ACT-%00", 404),
        ("/acts?incident=INC-%00", 422),
        ("/evidence?report=RPT-%00", 422),
        ("/audit/events?record=INC-%00", 422),
    ],
)
def test_a_nul_in_a_key_or_a_filter_is_an_answer_not_a_crash(
    path: str, status: int, api_client: ApiClient, world: World
) -> None:
    response = api_client("researcher").get(path)
    assert response.status_code == status
    problem(response)


def test_a_nul_in_a_link_or_a_changed_record_is_an_answer_not_a_crash(
    api_client: ApiClient, world: World
) -> None:
    client = api_client("researcher")
    body = {"team": world.team.slug, "title": "T", "received_on": "2017-01-01", "channel": "media"}
    created = client.post("/reports", {**body, "incident": "INC-\u0000"})
    assert created.status_code == 422 and "incident" in field_errors(created)
    changed = client.patch("/incidents/INC-%00", {"title": "T"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 404


# -- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead"])
def test_a_token_that_only_reads_changes_nothing_anywhere(
    role: str, app: Flask, api_client: ApiClient, world: World, db_session: Session
) -> None:
    reader = api_client(role, ["cases:read", "advocacy:read"])
    keys = {"key": world.incident.reference, "position": "1"}
    before = count_events(db_session)
    tried = 0
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
        if not rule.endpoint.startswith("api.") or not methods:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", keys.get(argument, str(world.incident.id)))
        for method in methods:
            body = {"title": "Changed", "team": world.team.slug, "name": "Changed"}
            response = reader.open(method, path, body, headers={"If-Match": '"1"'})
            assert response.status_code in (403, 404, 422), (method, rule.rule)
            tried += 1
    assert tried > 15
    db_session.expire_all()
    assert world.incident.title != "Changed"
    assert count_events(db_session) == before, "no change, no decryption, nothing recorded"


def test_a_token_is_read_from_the_authorization_header_only(
    app: Flask, api_client: ApiClient
) -> None:
    token = api_client("researcher").token
    client = app.test_client()
    for name in ("access_token", "token", "Authorization", "session"):
        client.set_cookie(name, token)
    assert client.get("/api/v1/me").status_code == 401
    for query in ("access_token", "token", "bearer"):
        assert app.test_client().get(f"/api/v1/me?{query}={token}").status_code == 401
    answer = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


# -- bodies -------------------------------------------------------------------------------------


def test_a_body_nested_to_exhaust_the_parser_is_a_400(api_client: ApiClient, world: World) -> None:
    lead = api_client("advocacy_lead")
    name = "[" * 200_000 + "]" * 200_000
    nested = f'{{"team": "{world.team.slug}", "name": {name}}}'
    response = lead.client.post(
        "/api/v1/campaigns",
        data=nested,
        content_type="application/json",
        headers={"Authorization": f"Bearer {lead.token}"},
    )
    assert response.status_code == 400 and problem(response)["type"].endswith("invalid-input")


def test_a_body_just_under_the_limit_is_refused_field_by_field(
    api_client: ApiClient, world: World
) -> None:
    lead = api_client("advocacy_lead")
    huge = lead.post("/campaigns", {"team": world.team.slug, "name": "a" * (15 * MiB)})
    assert huge.status_code == 422
    assert list(field_errors(huge)) == ["name"]
    assert len(huge.get_data()) < 1000, "the answer does not echo what was sent"


def test_a_conflict_answers_with_versions_not_with_what_was_typed_or_stored(
    api_client: ApiClient, world: World
) -> None:
    lead = api_client("advocacy_lead")
    campaign = CampaignFactory(team_id=world.team.id, name="CANARY-stored-name-4R2")
    path = f"/campaigns/{campaign.id}"
    assert lead.patch(path, {"name": "Renamed"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = lead.patch(path, {"name": "CANARY-typed-name-8J5"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and problem(stale)["current_version"] == 2
    sent = stale.get_data(as_text=True) + str(stale.headers)
    assert "CANARY" not in sent and "Renamed" not in sent


# -- the audit log ------------------------------------------------------------------------------


@pytest.mark.parametrize("summaries", [False, True], ids=["records", "summaries"])
def test_one_teams_export_is_in_its_auditors_log_only(
    summaries: bool,
    api_client: ApiClient,
    world: World,
    context_for: Callable[..., object],
    db_session: Session,
) -> None:
    """An export's event counts the records of the teams exported: another team's auditor
    learns nothing of them, as of the records themselves."""
    role = Role.ADVOCACY_LEAD if summaries else Role.RESEARCHER
    exporter = UserFactory(role=role, teams=[world.team])
    ctx = context_for(exporter)
    if summaries:
        export.start_summary_export(ctx, Profile.PARTNER)  # type: ignore[arg-type]
    else:
        export.start_export(ctx, Profile.INTERNAL)  # type: ignore[arg-type]
    db_session.flush()
    assert count_events(db_session, AuditAction.EXPORT.value, actor=exporter.email) == 1
    query = f"/audit/events?action=export&actor={exporter.email}"
    ours = api_client("auditor").get(query).get_json()["items"]
    theirs = api_client("auditor", team=world.other_team).get(query).get_json()["items"]
    assert len(ours) == 1 and theirs == []
