"""Fuzzing key POST routes through the test client: whatever a form or an imported file
holds, the answer is a page (saved, or the form again with its errors) and never a 5xx."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.models import User
from tests.conftest import csrf_token
from tests.fuzz import EXAMPLES, FUZZ
from tests.web.conftest import World

# One request per example, on each database: fewer examples than the parser targets.
WEB = settings(FUZZ, max_examples=max(EXAMPLES // 8, 20))
_FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')

VALUES = (
    st.text(st.characters(codec="utf-8"), max_size=200)
    | st.sampled_from(
        ["", " ", "0", "-1", "2017-02", "2017-02-30", "9999-99-99", "1e309", "NaN", "\x00",
         "<script>", "' OR 1=1 --", "\u202e", "ф" * 5000, "9" * 400, "on", "y"]
    )
)  # fmt: skip


@pytest.fixture
def researcher(world: World, login_as: Callable[[User], User]) -> User:
    return login_as(world.users["researcher"])


def _fields(client: FlaskClient, path: str) -> list[str]:
    page = client.get(path).get_data(as_text=True)
    names = sorted(set(_FIELD.findall(page)) - {"csrf_token"})
    assert names, f"no form fields at {path}"
    return names


def _post(client: FlaskClient, path: str, data: dict[str, Any]) -> int:
    response = client.post(path, data=data, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:500]
    assert "Traceback" not in body
    return response.status_code


@pytest.mark.parametrize("path", ["/incidents/new", "/people/new"])
def test_record_forms_answer_any_values_with_a_page(
    client: FlaskClient, world: World, researcher: User, path: str
) -> None:
    names = _fields(client, path)
    token = csrf_token(client, path)
    team = str(world.team.id)

    @WEB
    @given(values=st.dictionaries(st.sampled_from(names), VALUES | st.lists(VALUES, max_size=3)))
    def post_any(values: dict[str, Any]) -> None:
        status = _post(client, path, {"team": team, **values, "csrf_token": token})
        assert status in (200, 302, 422)

    post_any()


def test_the_import_page_answers_any_file_with_a_page(
    client: FlaskClient, researcher: User
) -> None:
    token = csrf_token(client, "/import")
    names = st.sampled_from(["records.json", "source.csv", "records.zip", "x.txt", ""])

    @WEB
    @given(data=st.binary(max_size=400), name=names, kind=st.sampled_from(["", "source", "x"]))
    def post_any(data: bytes, name: str, kind: str) -> None:
        form = {"csrf_token": token, "file": (io.BytesIO(data), name), "dry_run": "y"}
        status = _post(client, "/import", {**form, "kind": kind})
        assert status in (200, 422)

    post_any()
