"""Fixtures for page tests: one team with an incident, one user per role, another team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from incidents.models import Incident, Team, User
from incidents.models.vocabularies import Role
from tests.factories import IncidentFactory, TeamFactory, UserFactory

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
def as_role(world: World, login_as: Callable[[User], User]) -> Callable[[str], User | None]:
    """Log in as the world's user of `role` ("anonymous": stay logged out)."""

    def log_in(role: str) -> User | None:
        return None if role == "anonymous" else login_as(world.users[role])

    return log_in
