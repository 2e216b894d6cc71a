"""Security check 22: an unknown e-mail, a wrong password and a disabled account get the same
answer, so the login form does not tell who has an account."""

from __future__ import annotations

import uuid

from flask import Flask
from werkzeug.test import TestResponse

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.conftest import log_in, quick_hash, unique_address, without_csrf
from tests.web.conftest import World

WRONG = "not the password at all"
# Headers that differ between any two requests (the session cookie) or by body length.
PER_REQUEST = {"Set-Cookie", "Content-Length"}


def _answer(response: TestResponse, email: str) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers, without the CSRF token and the e-mail typed (echoed in the
    form): neither says whether the account exists."""
    body = without_csrf(response.get_data(as_text=True)).replace(email, "")
    headers = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    return response.status_code, body, headers


def test_22_unknown_user_wrong_password_and_disabled_account_get_the_same_answer(
    app: Flask, world: World
) -> None:
    def email(label: str) -> str:
        return f"{label}-{uuid.uuid4().hex[:8]}@example.org"

    active = UserFactory(email=email("active"), password_hash=quick_hash(), teams=[world.team])
    disabled = UserFactory(
        email=email("disabled"), password_hash=quick_hash(), teams=[world.team], disabled=True
    )
    attempts = {
        "unknown e-mail": (email("nobody"), DEFAULT_PASSWORD),
        "wrong password": (active.email, WRONG),
        "disabled, right password": (disabled.email, DEFAULT_PASSWORD),
        "disabled, wrong password": (disabled.email, WRONG),
    }
    answers = {}
    for label, (address, password) in attempts.items():
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = unique_address()
        answers[label] = _answer(log_in(client, address, password), address)
    first = answers["unknown e-mail"]
    assert first[0] == 401
    assert "E-mail or password is not right" in first[1]
    for label, answer in answers.items():
        assert answer == first, f"{label} is told apart from an unknown e-mail"
    # The comparison can fail: the right password is answered differently.
    assert log_in(app.test_client(), active.email).status_code == 302
