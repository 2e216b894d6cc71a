"""The API fuzzed from its own OpenAPI document (schemathesis): every operation, for a
researcher's token and an advocacy lead's, answers without a server error, in a content
type its document names, with a body its schema allows.

Each generated case is sent as it is (random keys, random teams: mostly refusals) and
once more aimed at the world's own records — a real key, the reader's team, the ETag
just read — so that reading and writing real records is fuzzed too. Derandomized and a
dozen examples per operation: the same run every time, in CI, in well under a minute.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.api.conftest import TokenClient
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    EvidenceFactory,
    FollowUpFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
)
from tests.web.conftest import World

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 10

pytestmark = pytest.mark.slow


def _world_keys(world: World) -> dict[str, str]:
    """A record of the world's team for each resource: where the aimed cases go."""
    team = world.team.id
    person = PersonFactory(team_id=team)
    act = ActFactory(team_id=team, incident_id=world.incident.id, person_id=person.id)
    action = AdvocacyActionFactory(team_id=team)
    report = ReportFactory(team_id=team, incident_id=world.incident.id)
    return {
        "incidents": world.incident.reference,
        "sources": SourceFactory(team_id=team).reference,
        "reports": ReportFactory(team_id=team, incident_id=world.incident.id).reference,
        "state_responses": str(
            StateResponseFactory(team_id=team, incident_id=world.incident.id).id
        ),
        "people": person.reference,
        "consents": str(ConsentFactory(team_id=team, person_id=person.id).id),
        "acts": str(act.id),
        "involvements": str(InvolvementFactory(team_id=team, act_id=act.id).id),
        "campaigns": str(CampaignFactory(team_id=team).id),
        "advocacy_actions": action.reference,
        "action_responses": str(ActionResponseFactory(action_id=action.id).id),
        "follow_ups": str(FollowUpFactory(action_id=action.id).id),
        "action_links": str(ActionLinkFactory(action_id=action.id, report_id=report.id).id),
        # Details only, no stored file: a download answers 410, which its document names.
        "evidence": str(EvidenceFactory(team_id=team, report_id=report.id).id),
    }


def _aim(case: schemathesis.Case, keys: dict[str, str], team: str, reader: TokenClient) -> bool:
    """Aim the case (already sent) at the world's records; False when it names none."""
    resource = case.operation.path.removeprefix("/api/v1/").split("/")[0]
    aimed = False
    if "key" in (case.path_parameters or {}) and resource in keys:
        case.path_parameters = {**case.path_parameters, "key": keys[resource]}
        aimed = True
        if case.method.upper() in ("PATCH", "DELETE"):
            etag = reader.get(f"/{resource}/{keys[resource]}").headers.get("ETag")
            case.headers = {**(case.headers or {}), "If-Match": etag or '"1"'}
    if isinstance(case.body, dict) and "team" in case.body:
        case.body = {**case.body, "team": team}
        aimed = True
    return aimed


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead"])
def test_every_operation_keeps_to_its_document(
    role: str, app: Flask, world: World, api_client: Callable[..., TokenClient]
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    reader = api_client(role)
    headers = {"Authorization": f"Bearer {reader.token}"}
    keys = _world_keys(world)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)
            if _aim(case, keys, world.team.slug, reader):
                case.call_and_validate(headers=headers, checks=CHECKS)

        run()
