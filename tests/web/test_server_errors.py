"""A crash and a body too large, on an application of the tests' own: the 500 page and
the log say nothing of what the exception held; a form too large is a 413 page in the
site's layout that says what fits."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.crypto.keys import MasterKey
from incidents.web.security import public
from tests.conftest import make_test_app

CANARY = "CANARY-crash-secret-5T1"
FORM_LIMIT = 4096
FIELD_LIMIT = 1024


@pytest.fixture(scope="module")
def crashing_app(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Flask:
    """An application with one more page, which fails with a secret in its message and in
    its local variables, as a bug formatting a decrypted value into an error would."""
    instance = tmp_path_factory.mktemp("crashing")
    app = make_test_app(
        f"sqlite:///{instance / 'incidents.db'}", instance, master_key,
        max_content_length=FORM_LIMIT,
    )  # fmt: skip
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does
    app.config["MAX_FORM_MEMORY_SIZE"] = FIELD_LIMIT

    @public
    def crash(number: int) -> str:
        narrative = CANARY
        raise RuntimeError(f"cannot format {narrative!r} into SELECT * FROM incidents {number}")

    app.add_url_rule("/_crash/<int:number>", "crash", crash)
    return app


@pytest.fixture
def client(crashing_app: Flask) -> Iterator[FlaskClient]:
    yield crashing_app.test_client()


def _logged(records: list[logging.LogRecord]) -> str:
    """Everything the records would write, tracebacks included."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(record) for record in records)


def test_a_crash_shows_and_logs_nothing_it_held(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.get("/_crash/7")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    for leak in (CANARY, "Traceback", "RuntimeError", "SELECT", "narrative"):
        assert leak not in body, leak
    assert "Something went wrong" in body and "<html" in body  # the site's layout
    logged = _logged(caplog.records)
    for leak in (CANARY, "Traceback", "SELECT"):
        assert leak not in logged, leak
    assert not any(record.exc_info for record in caplog.records)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "incidents.crashes"]
    assert "unhandled RuntimeError in GET /_crash/<int:number>" in line  # the route, not "7"
    assert "test_server_errors.py" in line and " crash" in line  # where it was raised
    crash_id = line.split()[1].rstrip(":")
    assert f"crash {crash_id}" in body, "the page names the line an administrator looks for"


def test_a_form_larger_than_the_limit_is_a_413_page(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x" * (FORM_LIMIT + 1), "password": "p"})
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "<html" in body and "Error 413" in body
    assert "up to 4 KiB in one form" in body and "Nothing was saved" in body


def test_a_multipart_body_larger_than_the_limit_is_a_413_page(client: FlaskClient) -> None:
    data = {"file": (io.BytesIO(b"x" * (FORM_LIMIT * 2)), "big.csv"), "dry_run": "y"}
    response = client.post("/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "up to 4 KiB in one form" in response.get_data(as_text=True)


def test_a_text_field_larger_than_the_limit_is_a_413_page(client: FlaskClient) -> None:
    data = {"email": "x" * (FIELD_LIMIT + 1), "password": "p"}
    response = client.post("/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "up to 1 KiB in one text field" in response.get_data(as_text=True)
