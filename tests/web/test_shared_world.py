"""The world a module shares (tests/web/conftest.py's `shared_world`): whatever one test writes
to it, directly, through a commit or through a request, is rolled back before the next, so
the tests that share it stay as independent as those that build their own.

The two turns do the same: whichever runs second finds what the first changed undone.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import Incident, Team, User
from tests.conftest import csrf_token
from tests.factories import IncidentFactory
from tests.web.conftest import World


@pytest.fixture
def world(shared_world: World) -> World:
    return shared_world


def _as_built(session: Session, built: World) -> None:
    """The world's rows read back from the database, not from the objects held."""
    session.expire_all()
    team = session.get(Team, built.team.id)
    assert team is not None, "the shared team is gone"
    assert team.name == built.team.name
    researcher = session.get(User, built.users["researcher"].id)
    assert researcher is not None
    assert researcher.is_active
    incidents = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.team_id == built.team.id)
    )
    assert incidents == 1


@pytest.mark.parametrize("turn", ["first", "second"])
def test_a_test_finds_the_shared_world_as_it_was_built(
    turn: str,
    world: World,
    module_world: World,
    db_session: Session,
    client: FlaskClient,
    signed_in: Callable[[str], User],
) -> None:
    _as_built(db_session, module_world)
    assert world.team.name == module_world.team.name
    assert world.team is not module_world.team, "each test has the world in its own session"

    # Change it every way a test may: directly, committed, and through a request.
    world.team.name = f"Renamed in the {turn} turn"
    IncidentFactory(team_id=world.team.id)
    db_session.commit()
    signed_in("admin")
    researcher = world.users["researcher"]
    disabled = client.post(
        f"/admin/users/{researcher.id}/disable",
        data={"csrf_token": csrf_token(client, "/admin/users")},
    )
    assert disabled.status_code == 302
    db_session.expire_all()
    assert db_session.get(User, researcher.id).is_active is False  # type: ignore[union-attr]
