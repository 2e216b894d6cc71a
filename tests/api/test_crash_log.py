"""A crash in an API view: a 500 problem naming a crash id, and a log line that holds
the exception's type, route and frames but neither its message nor a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask import Flask

from incidents.services import api_records
from tests.api.conftest import TokenClient, problem
from tests.web.conftest import World

CANARY = "CANARY-api-crash-8W3"


def test_a_crash_is_logged_without_what_it_held(
    api_client: Callable[..., TokenClient],
    world: World,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = api_client("researcher")

    def crash(*_args: object, **_kwargs: object) -> None:
        secret = CANARY
        raise RuntimeError(f"SELECT narrative FROM incidents WHERE narrative = {secret!r}")

    monkeypatch.setattr(api_records, "get_document", crash)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    caplog.set_level(logging.DEBUG)
    response = client.get(f"/incidents/{world.incident.reference}")
    body = problem(response)
    assert body["status"] == 500
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    for leak in (CANARY, "SELECT", "Traceback"):
        assert leak not in logged and leak not in response.get_data(as_text=True), leak
    (line,) = [r.getMessage() for r in caplog.records if r.name == "incidents.crashes"]
    assert "unhandled RuntimeError in GET /api/v1/incidents/<" in line
    assert f"crash {line.split()[1].rstrip(':')}" in body["detail"]
