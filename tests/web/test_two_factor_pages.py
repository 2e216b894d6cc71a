"""Two-factor enrolment on the phone it is read on: a link that opens the authenticator
app with the same key as the QR code and the typed key; the key shown in groups of four."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pyotp
from flask.testing import FlaskClient

from incidents.models import User
from tests.conftest import csrf_token
from tests.web.conftest import World

ENROLMENT = "/account/two-factor"
OTPAUTH_LINK = re.compile(
    r'<a class="button" href="(otpauth://[^"]+)">Open in the authenticator app</a>'
)
TYPED_KEY = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')


def test_the_enrolment_page_links_to_the_authenticator_app_with_the_shown_key(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    user = as_role("researcher")
    assert user is not None
    page = client.get(ENROLMENT).get_data(as_text=True)
    link = OTPAUTH_LINK.search(page)
    assert link, "no otpauth link on the enrolment page"
    uri = unescape(link.group(1))
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    query = parse_qs(parts.query)
    typed = TYPED_KEY.search(page)
    assert typed
    groups = typed.group(1).split(" ")
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4
    assert query["secret"] == ["".join(groups)], "the link and the typed key are one key"
    assert query["issuer"] == ["Incidents"]

    # What the app makes of the link is what the enrolment accepts.
    authenticator = pyotp.parse_uri(uri)
    assert user.email in authenticator.name
    response = client.post(
        ENROLMENT,
        data={"code": authenticator.now(), "csrf_token": csrf_token(client, ENROLMENT)},
    )
    assert response.status_code == 200
    assert "Your recovery codes" in response.get_data(as_text=True)


def test_each_enrolment_page_view_offers_the_same_key_until_it_is_confirmed(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    first = OTPAUTH_LINK.search(client.get(ENROLMENT).get_data(as_text=True))
    again = OTPAUTH_LINK.search(client.get(ENROLMENT).get_data(as_text=True))
    assert first and again
    assert first.group(1) == again.group(1), "a reload does not change the key the app holds"
