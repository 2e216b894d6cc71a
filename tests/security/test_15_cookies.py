"""Security check 15: the session cookie is Secure (in production), HttpOnly, SameSite, and
`__Host-` prefixed in production (so it is sent only to this host, over HTTPS, for /)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from werkzeug.test import TestResponse

from tests.factories import UserFactory
from tests.security.conftest import HTTPS, POSTGRES_ONLY, log_in
from tests.web.conftest import World


def session_cookie(response: TestResponse, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie of `name`, lower-cased names; "" for flags."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        if first.partition("=")[0] == name:
            parsed = {"": first.partition("=")[2]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                parsed[key.lower()] = value
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


@POSTGRES_ONLY
def test_15_production_session_cookie_is_host_prefixed_secure_http_only_and_same_site(
    production_app: Flask, world: World
) -> None:
    client = production_app.test_client()
    response = log_in(client, world.users["researcher"].email, base_url=HTTPS)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    cookie = session_cookie(response, "__Host-session")
    assert cookie[""], "empty session cookie at login"
    assert "secure" in cookie
    assert "httponly" in cookie
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert "domain" not in cookie  # a __Host- cookie may not name a domain
    # The browser sends it back over HTTPS and the user is logged in: production requires
    # a second factor, so they are sent to set one up (not to the login page).
    page = client.get("/account", base_url=HTTPS)
    assert (page.status_code, page.headers["Location"]) == (302, "/account/two-factor")


def test_15_development_session_cookie_is_http_only_and_same_site(
    build_app: Callable[..., Flask], world: World
) -> None:
    development = build_app(env="development")
    user = UserFactory(teams=[world.team])
    response = log_in(development.test_client(), user.email)
    assert response.status_code == 302
    cookie = session_cookie(response, "session")
    assert cookie[""]
    assert "httponly" in cookie
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert "domain" not in cookie
