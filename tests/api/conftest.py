"""Fixtures for API tests: a client that sends a bearer token, for a user of any role.

The token is made through the real service (incidents/services/api_tokens.py), as a user
makes one on their account page, so that every test goes through the real token check,
rate limit and scope narrowing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from incidents.models import Team, User
from incidents.models.vocabularies import Role
from incidents.permissions import usable_scopes
from incidents.services import api_tokens
from tests import helpers
from tests.factories import UserFactory
from tests.web.conftest import World, world  # noqa: F401 (a fixture, shared with the pages)

API = "/api/v1"


@dataclass
class TokenClient:
    """A test client that sends `Authorization: Bearer <token>` and JSON bodies; paths
    are below /api/v1 unless they start with it."""

    client: FlaskClient
    token: str
    user: User

    def open(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        url = path if path.startswith(API) else f"{API}{path}"
        return self.client.open(url, method=method, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.open("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.open("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("DELETE", path, **kwargs)


def make_token(
    app: Flask, session: Session, user: User, scopes: Iterable[str] | None = None
) -> str:
    """A token for `user` with `scopes` (every scope their roles can use by default)."""
    chosen = (
        list(scopes)
        if scopes is not None
        else sorted(s.value for s in usable_scopes(user.role_set))
    )
    text, _token = api_tokens.create(helpers.context(session, app), user, "tests", chosen)
    session.flush()
    return text


@pytest.fixture
def api_client(
    app: Flask,
    db_session: Session,
    world: World,  # noqa: F811 (the fixture above)
) -> Callable[..., TokenClient]:
    """`api_client(role, scopes=None, team=None)`: a client with a new token for a new
    user of `role` ("researcher", "advocacy_lead", "auditor", "admin") in `team` (the
    world's team by default; an administrator is in no team)."""

    def build(
        role: str, scopes: Iterable[str] | None = None, team: Team | None = None
    ) -> TokenClient:
        chosen = Role(role)
        teams = [] if chosen is Role.ADMIN else [team or world.team]
        user = UserFactory(role=chosen, teams=teams)
        db_session.flush()
        return TokenClient(app.test_client(), make_token(app, db_session, user, scopes), user)

    return build


def problem(response: TestResponse) -> dict[str, Any]:
    """The problem details of an error answer (and that it is one)."""
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    return body


def field_errors(response: TestResponse) -> dict[str, str]:
    return {item["field"]: item["message"] for item in problem(response)["errors"]}
