"""Fixtures for page tests: one team with an incident, one user per role, another team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from incidents.models import Incident, Team, User
from incidents.models.vocabularies import Role
from tests.conftest import session_on
from tests.factories import IncidentFactory, TeamFactory, UserFactory
from tests.helpers import enter

ROLES = ["anonymous", *[role.value for role in Role]]
T = TypeVar("T")


@dataclass
class World:
    team: Team
    other_team: Team
    incident: Incident
    other_incident: Incident
    users: dict[str, User]


def build_world() -> World:
    """Two teams, a user of each role (the admin in no team) and an incident of each team."""
    team, other = TeamFactory(), TeamFactory()
    users = {
        role.value: UserFactory(role=role, teams=[] if role is Role.ADMIN else [team])
        for role in Role
    }
    return World(
        team=team,
        other_team=other,
        incident=IncidentFactory(
            team_id=team.id,
            secrets={"narrative": "CANARY-narrative-7Q2", "place_detail": "CANARY-place-9Z4"},
        ),
        other_incident=IncidentFactory(
            team_id=other.id, secrets={"narrative": "CANARY-other-team-3K8"}
        ),
        users=users,
    )


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world()


@pytest.fixture(scope="module")
def module_world(app: Flask, module_connection: Connection) -> World:
    """One world for all the tests of a module, written once in the module's transaction."""
    with session_on(app, module_connection) as session:
        built = build_world()
        session.commit()  # into the module's transaction: a savepoint released, no more
    return built


@pytest.fixture
def shared_world(module_world: World, db_session: Session) -> World:
    """The module's world in the test's session; what the test writes is rolled back to the
    savepoint it started from, so the next test finds the world as it was.

    A module whose tests only read the world (or whose writes the rollback undoes) shares it
    by overriding `world` (tests/web/test_access_matrix.py): building it for each of a
    thousand tests was most of their set-up.
    """

    def mine(record: T) -> T:
        return db_session.merge(record, load=False)

    return World(
        team=mine(module_world.team),
        other_team=mine(module_world.other_team),
        incident=mine(module_world.incident),
        other_incident=mine(module_world.other_incident),
        users={role: mine(user) for role, user in module_world.users.items()},
    )


@pytest.fixture
def signed_in(client: FlaskClient, world: World, db_session: Session) -> Callable[[str], User]:
    """`signed_in(role)`: the world's user of `role`, logged in as a completed login leaves
    the browser. The pages are under test here, and an Argon2 check per login would be
    most of their time; the login form has tests of its own (`login_as`,
    tests/security/test_18_sessions.py)."""

    def sign(role: str) -> User:
        user = world.users[role]
        enter(client, db_session, user)
        return user

    return sign


@pytest.fixture
def as_role(signed_in: Callable[[str], User]) -> Callable[[str], User | None]:
    """Log in as the world's user of `role` ("anonymous": stay logged out)."""

    def log_in(role: str) -> User | None:
        return None if role == "anonymous" else signed_in(role)

    return log_in
