"""Every error under /api/v1 is a problem (RFC 9457): one shape, a sentence saying what
to do, and nothing of the application's insides — whatever failed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.services import api_records
from tests.api.conftest import TokenClient, field_errors, problem
from tests.web.conftest import World

Client = Callable[..., TokenClient]


def test_without_a_token_the_api_answers_401_and_a_cookie_is_not_a_token(
    client: FlaskClient, world: World, login_as: Callable[..., object]
) -> None:
    nothing = client.get("/api/v1/incidents")
    assert problem(nothing)["type"] == "/api/v1/problems/token-refused"
    assert nothing.headers["WWW-Authenticate"] == 'Bearer realm="incidents"'
    wrong = client.get("/api/v1/incidents", headers={"Authorization": "Bearer inc_wrong"})
    assert problem(wrong)["status"] == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    login_as(world.users["researcher"])  # a browser's login gives the API nothing
    assert problem(client.get("/api/v1/incidents"))["status"] == 401


def test_an_unknown_url_and_an_unknown_method_are_problems(api_client: Client) -> None:
    client = api_client("researcher")
    unknown = client.get("/nothing-here")
    assert problem(unknown)["status"] == 404 and problem(unknown)["type"] == "about:blank"
    wrong_method = client.delete("/incidents")
    assert problem(wrong_method)["status"] == 405
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "POST"}
    # Outside the API the error pages are still pages.
    assert client.client.get("/nothing-here").content_type.startswith("text/html")


def test_a_body_that_is_not_json_is_refused_before_anything_is_read(
    api_client: Client, world: World
) -> None:
    client = api_client("researcher")
    not_json = client.client.post(
        "/api/v1/incidents",
        data="title=x",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert problem(not_json)["status"] == 415
    broken = client.client.post(
        "/api/v1/incidents",
        data='{"title": ',
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert problem(broken)["status"] == 400
    assert "not valid JSON" in problem(broken)["detail"]


def test_a_body_too_large_is_413(
    api_client: Client, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    client = api_client("researcher")
    response = client.post("/incidents", {"title": "x" * 2000})
    assert problem(response)["status"] == 413


def test_each_refused_field_is_named_with_what_to_do(api_client: Client, world: World) -> None:
    client = api_client("researcher")
    shape = client.post(
        "/incidents",
        {"team": world.team.slug, "colour": "red", "estimated_victims": "many", "status": "lost"},
    )
    errors = field_errors(shape)
    assert shape.status_code == 422
    assert errors["colour"] == "This field does not exist here; remove it."
    assert errors["title"] == "Give this field; it is required."
    assert errors["estimated_victims"] == "Enter a whole number."
    assert errors["status"].startswith("Choose one of: ")
    # The record's own validator, after the shapes: the same problem shape.
    meaning = client.post(
        "/incidents",
        {"team": world.team.slug, "title": "x", "start_date": "2017-05", "end_date": "2017-01"},
    )
    assert field_errors(meaning) == {"end_date": "The end cannot be before the start."}
    assert all(message.endswith(".") for message in errors.values())


def test_a_crash_is_a_500_problem_that_says_nothing_of_it(
    api_client: Client, world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api_client("researcher")

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("SELECT narrative FROM incidents -- CANARY-narrative-7Q2")

    monkeypatch.setattr(api_records, "get_document", crash)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get(f"/incidents/{world.incident.reference}")
    body = problem(response)
    assert body["status"] == 500
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "CANARY" not in text and "RuntimeError" not in text


def test_a_record_that_cannot_be_decrypted_is_a_500_problem_naming_no_value(
    api_client: Client, world: World, db_session: Session
) -> None:
    damaged = bytearray(world.incident.narrative or b"")
    damaged[-1] ^= 1
    world.incident.narrative = bytes(damaged)
    db_session.flush()
    response = api_client("researcher").get(f"/incidents/{world.incident.reference}")
    assert problem(response)["status"] == 500
    assert "CANARY" not in response.get_data(as_text=True)


def test_answers_are_json_never_cached_and_set_no_cookie(api_client: Client, world: World) -> None:
    client = api_client("researcher")
    for response in (
        client.get("/incidents"),
        client.get(f"/incidents/{world.incident.reference}"),
        client.get("/incidents/INC-1900-0001"),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers
        assert response.content_type in ("application/json", "application/problem+json")
