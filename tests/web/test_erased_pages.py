"""An erased record's page shows its tombstone, never its details."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.log import Actor
from incidents.models import User
from incidents.services.erasure import erase_record
from tests.web.conftest import World

ACTOR = Actor("tests")


def test_an_erased_incident_page_says_so(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    erase_record(db_session, ACTOR, None, world.incident.reference, "consent withdrawn")
    db_session.flush()
    as_role("researcher")
    response = client.get(f"/incidents/{world.incident.reference}")
    assert response.status_code == 410
    body = response.get_data(as_text=True)
    assert "This record was erased" in body
    assert "consent withdrawn" in body
    assert "CANARY-narrative-7Q2" not in body


def test_an_erased_incident_of_another_team_is_not_found(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    erase_record(db_session, ACTOR, None, world.other_incident.reference, "asked to")
    as_role("researcher")
    response = client.get(f"/incidents/{world.other_incident.reference}")
    assert response.status_code == 404
    assert "asked to" not in response.get_data(as_text=True)
