"""Sexual orientation and gender identity on the pages and the API: recorded on the
person's form as the person describes themselves, shown on their page to the team's
researchers ("Not recorded." when not given), and to no other role anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from incidents.models import User
from tests.api.conftest import TokenClient, api_client  # noqa: F401 (a fixture)
from tests.conftest import csrf_token
from tests.factories import PersonFactory
from tests.web.conftest import World

LOCATION = re.compile(r"/people/(PER-\d+)$")
ORIENTATION = "lesbian CANARY-so-2W9"
IDENTITY = "non-binary, uses they CANARY-gi-6Q4"


def _record(client: FlaskClient, world: World, **fields: str) -> str:
    response = client.post(
        "/people/new",
        data={
            "csrf_token": csrf_token(client, "/people/new"),
            "full_name": "Zarema Primerova",
            "gender": "woman",
            "age_band": "30_49",
            "team": str(world.team.id),
            **fields,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    match = LOCATION.search(response.headers["Location"])
    assert match is not None
    return match.group(1)


def test_recorded_on_the_form_and_shown_to_the_researcher(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    form = client.get("/people/new").get_data(as_text=True)
    assert 'name="sexual_orientation"' in form and 'name="gender_identity"' in form
    reference = _record(client, world, sexual_orientation=ORIENTATION, gender_identity=IDENTITY)
    body = client.get(f"/people/{reference}").get_data(as_text=True)
    assert ORIENTATION in body and IDENTITY in body
    edit = client.get(f"/people/{reference}/edit").get_data(as_text=True)
    assert 'name="sexual_orientation"' in edit and ORIENTATION in edit


def test_not_given_reads_not_recorded(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    reference = _record(client, world)
    body = client.get(f"/people/{reference}").get_data(as_text=True)
    assert body.count("Not recorded.") == 2


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor", "admin"])
def test_other_roles_see_nothing_of_them(
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    api_client: Callable[..., TokenClient],  # noqa: F811
) -> None:
    secrets = {
        "full_name": "Zarema",
        "sexual_orientation": ORIENTATION,
        "gender_identity": IDENTITY,
    }
    reference = PersonFactory(team_id=world.team.id, secrets=secrets).reference
    as_role(role)
    for page in (f"/people/{reference}", f"/people/{reference}/edit", "/dashboard"):
        body = client.get(page).get_data(as_text=True)
        assert "CANARY-so" not in body and "CANARY-gi" not in body, page
    if role != "admin":
        reader = api_client(role)
        for path in (f"/people/{reference}", "/people"):
            answer = reader.get(path).get_data(as_text=True)
            assert "CANARY-so" not in answer and "CANARY-gi" not in answer, path


def test_the_api_takes_and_gives_them_to_the_researcher(
    world: World,
    api_client: Callable[..., TokenClient],  # noqa: F811
) -> None:
    client = api_client("researcher")
    created = client.post(
        "/people",
        {
            "full_name": "Aminat Primerova",
            "team": world.team.slug,
            "sexual_orientation": ORIENTATION,
            "confirmed_different": True,
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    doc = client.get(created.headers["Location"].removeprefix("/api/v1")).get_json()
    assert doc["sexual_orientation"] == ORIENTATION
    assert doc["gender_identity"] is None  # not recorded
    schema = client.get("/openapi.json").get_json()
    assert {"sexual_orientation", "gender_identity"} <= set(
        schema["components"]["schemas"]["Person"]["properties"]
    )
