"""Fixtures for page tests: one team with an incident, one user per role, another team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.models import Incident, Team, User
from incidents.models.vocabularies import Role
from tests.factories import IncidentFactory, TeamFactory, UserFactory
from tests.helpers import enter

ROLES = ["anonymous", *[role.value for role in Role]]


@dataclass
class World:
    team: Team
    other_team: Team
    incident: Incident
    other_incident: Incident
    users: dict[str, User]


@pytest.fixture
def world(db_session: Session) -> World:
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
