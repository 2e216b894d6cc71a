"""Security check 10 for the generic API resources: each operation × role, with a token of
that role (every scope its roles can use), answers as the pages do — 200 or 201 for the
roles that may, 403 for those that may not, 401 without a token. An administrator can
make no token at all: no scope lets a token administer.

The pages' cookie is no token: tests/web/test_access_matrix.py holds 401 for every role.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from incidents.api.records import RESOURCES
from tests.api.conftest import TokenClient, problem
from tests.api.test_records import _bodies
from tests.web.conftest import World

R, L, A = "researcher", "advocacy_lead", "auditor"
# plural -> the roles that read it (the permission its pages ask; services/api_records.py)
READERS: dict[str, set[str]] = {
    "organisations": {R, L, A},
    "incidents": {R, L, A},
    "sources": {R, A},
    "reports": {R, A},
    "state_responses": {R, L, A},
    "people": {R},
    "consents": {R, A},
    "acts": {R, L, A},
    "involvements": {R, L, A},
    "campaigns": {R, L, A},
    "advocacy_actions": {R, L, A},
    "action_responses": {R, L, A},
}


def test_every_generic_resource_has_its_readers() -> None:
    assert {resource.plural for resource in RESOURCES} == READERS.keys()


@pytest.mark.parametrize("role", [R, L, A])
@pytest.mark.parametrize("plural", sorted(READERS))
def test_each_operation_answers_each_role_as_its_pages_do(
    plural: str, role: str, api_client: Callable[..., TokenClient], world: World
) -> None:
    client = api_client(role)
    reads = 200 if role in READERS[plural] else 403
    assert client.get(f"/{plural}").status_code == reads, f"list {plural} as {role}"
    if plural not in _bodies(world):  # read here, written by a resource of its own
        return
    writer, body, change = _bodies(world)[plural]
    writer_client = client if writer == role else api_client(writer)
    made = writer_client.post(f"/{plural}", body)
    assert made.status_code == 201
    location = made.headers["Location"]
    assert client.get(location).status_code == reads, f"get {plural} as {role}"

    if role == writer:
        return
    refused = client.post(f"/{plural}", body)
    assert problem(refused)["status"] == 403, f"create {plural} as {role}"
    changed = client.patch(location, change, headers={"If-Match": made.headers["ETag"]})
    # Reading is needed to find a record to change: 403 either way, never a change.
    assert problem(changed)["status"] == 403, f"change {plural} as {role}"


@pytest.mark.parametrize("plural", sorted(READERS))
def test_without_a_token_every_operation_is_401(
    plural: str, client: FlaskClient, world: World
) -> None:
    key = world.incident.reference
    for method, path in (
        ("GET", f"/api/v1/{plural}"),
        ("GET", f"/api/v1/{plural}/{key}"),
        ("POST", f"/api/v1/{plural}"),
        ("PATCH", f"/api/v1/{plural}/{key}"),
    ):
        response = client.open(path, method=method, json={})
        # A consent changes only by its withdrawal: there is no PATCH to refuse.
        expected = 405 if (method, plural) == ("PATCH", "consents") else 401
        assert problem(response)["status"] == expected, f"{method} {path}"


def test_the_description_of_the_api_is_public(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200 and document.get_json()["openapi"] == "3.1.0"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
