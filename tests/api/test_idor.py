"""Security check 11 for the JSON API: another team's records answer 404 to a token of
every role, by reference and by id — the same answer, byte for byte, as a key that names
nothing. Every API route that takes an argument is checked here or listed with why not."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from tests import samples
from tests.api.conftest import TokenClient
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    FollowUpFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    stored_evidence,
)
from tests.helpers import evidence_store
from tests.web.conftest import World

# The first segment of a route below /api/v1 -> the kind of record its argument names.
TEAM_SCOPED = {
    "incidents": "incident",
    "sources": "source",
    "reports": "report",
    "state_responses": "state_response",
    "people": "person",
    "consents": "consent",
    "acts": "act",
    "involvements": "involvement",
    "evidence": "evidence",
    "campaigns": "campaign",
    "advocacy_actions": "advocacy_action",
    "action_responses": "action_response",
    "follow_ups": "follow_up",
    "action_links": "action_link",
}
NOT_TEAM_SCOPED = {
    "organisations": "shared by every team: there is no other team's organisation",
    "audit": "positions in the one audit log, read whole by auditors (tests/api/test_audit.py)",
}
ROLES = ("researcher", "advocacy_lead", "auditor")


def _api_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(rule, method, first segment) of every API route that takes an argument."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.arguments:
            segment = rule.rule.removeprefix("/api/v1/").split("/")[0]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.rule, method, segment))
    return found


def test_every_api_route_with_an_argument_is_checked_or_listed(app: Flask) -> None:
    segments = {segment for _rule, _method, segment in _api_routes(app)}
    assert segments - TEAM_SCOPED.keys() - NOT_TEAM_SCOPED.keys() == set()
    assert (TEAM_SCOPED.keys() | NOT_TEAM_SCOPED.keys()) - segments == set()


def _targets(world: World, app: Flask) -> dict[str, tuple[str, str]]:
    """Another team's record of each kind, and a key of the same shape naming nothing."""
    other = world.other_team.id
    person = PersonFactory(team_id=other)
    report = ReportFactory(team_id=other, incident_id=world.other_incident.id)
    act = ActFactory(team_id=other, incident_id=world.other_incident.id, person_id=person.id)
    action = AdvocacyActionFactory(team_id=other)
    by_reference = {
        "incident": world.other_incident.reference,
        "source": SourceFactory(team_id=other).reference,
        "report": report.reference,
        "person": person.reference,
        "advocacy_action": action.reference,
    }
    by_id = {
        "state_response": StateResponseFactory(team_id=other, incident_id=world.other_incident.id),
        "consent": ConsentFactory(team_id=other, person_id=person.id),
        "act": act,
        "involvement": InvolvementFactory(team_id=other, act_id=act.id),
        "evidence": stored_evidence(evidence_store(app), report),
        "campaign": CampaignFactory(team_id=other),
        "action_response": ActionResponseFactory(action_id=action.id),
        "follow_up": FollowUpFactory(action_id=action.id),
        "action_link": ActionLinkFactory(action_id=action.id, report_id=report.id),
    }
    targets = {
        kind: (reference, reference.rsplit("-", 1)[0] + "-9999999")
        for kind, reference in by_reference.items()
    }
    targets |= {kind: (str(record.id), str(uuid.uuid4())) for kind, record in by_id.items()}
    return targets


def _send(client: TokenClient, method: str, url: str) -> tuple[int, bytes]:
    headers = {"If-Match": '"1"'}
    if url.endswith("/evidence") and method == "POST":
        response = client.open(
            method,
            url,
            headers=headers,
            data={"file": (io.BytesIO(samples.png()), "photo.png"), "description": "A photo."},
            content_type="multipart/form-data",
        )
    else:
        body = {"revoked_on": "2017-05-01"} if url.endswith("/revoke") else {}
        response = client.open(
            method, url, None if method in ("GET", "DELETE") else body, headers=headers
        )
    return response.status_code, response.get_data()


@pytest.mark.parametrize("role", ROLES)
def test_another_teams_records_are_not_found_through_the_api(
    role: str, app: Flask, world: World, api_client: Callable[..., TokenClient]
) -> None:
    targets = _targets(world, app)
    client = api_client(role)
    checked = 0
    for rule, method, segment in _api_routes(app):
        if segment not in TEAM_SCOPED:
            continue
        value, missing = targets[TEAM_SCOPED[segment]]
        argument = rule.split("<")[1].split(">")[0].split(":")[-1]
        where = f"{method} {rule} with another team's {TEAM_SCOPED[segment]}, as {role}"
        other = _send(client, method, rule.replace(f"<{argument}>", value))
        nothing = _send(client, method, rule.replace(f"<{argument}>", missing))
        assert other == nothing, where  # no existence oracle
        assert other[0] == 404, where
        checked += 1
    assert checked > 25
