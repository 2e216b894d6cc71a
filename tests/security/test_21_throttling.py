"""Security check 21: logins are throttled per account and per network address, not globally;
the throttled answer does not say whether the account exists; every attempt counts,
before it is checked.

The limiter's storage is shared by every application of the process and outlives each
test, so every test here uses e-mails and addresses of its own.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import events
from tests.security.conftest import (
    REDIS_TEST_DB,
    REDIS_URL,
    enter,
    forget_redis_keys,
    log_in,
    quick_hash,
    require_redis,
    token,
    unique_address,
    without_csrf,
)
from tests.web.conftest import World

PER_ACCOUNT, PER_ADDRESS = 3, 6
LIMITS = {
    "login_limit_per_account": f"{PER_ACCOUNT} per 15 minutes",
    "login_limit_per_address": f"{PER_ADDRESS} per 15 minutes",
}
WRONG = "not the password at all"


def _email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.org"


def _user(world: World, label: str) -> User:
    """A user of the team with a unique e-mail, whose password is quick to check."""
    return UserFactory(email=_email(label), teams=[world.team], password_hash=quick_hash())


def _browser(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _attempt(app: Flask, email: str, password: str, address: str) -> int:
    response = log_in(_browser(app, address), email, password)
    return response.status_code


@pytest.fixture
def throttled_app(build_app: Callable[..., Flask]) -> Flask:
    return build_app(**LIMITS)


def _the_fourth_attempt_is_refused(app: Flask, world: World) -> tuple[str, str]:
    user = _user(world, "throttled")
    address, elsewhere = unique_address(), unique_address()
    for attempt in range(PER_ACCOUNT):
        assert _attempt(app, user.email, WRONG, address) == 401, f"attempt {attempt + 1}"
    assert _attempt(app, user.email, DEFAULT_PASSWORD, address) == 429
    assert _attempt(app, user.email, DEFAULT_PASSWORD, elsewhere) == 429
    return user.email, address


def test_21_the_fourth_failed_attempt_for_one_account_is_refused_even_with_the_right_password(
    throttled_app: Flask, world: World
) -> None:
    _the_fourth_attempt_is_refused(throttled_app, world)
    # Not global: another account, from another address, logs in as usual.
    other = _user(world, "unaffected")
    assert _attempt(throttled_app, other.email, WRONG, unique_address()) == 401
    assert _attempt(throttled_app, other.email, DEFAULT_PASSWORD, unique_address()) == 302


def test_21_the_per_address_limit_trips_across_different_accounts(
    throttled_app: Flask, world: World
) -> None:
    address = unique_address()
    for attempt in range(PER_ADDRESS):  # one failure each: no account reaches its limit
        assert _attempt(throttled_app, _user(world, "sprayed").email, WRONG, address) == 401, (
            attempt
        )
    user = _user(world, "sprayed-last")
    assert _attempt(throttled_app, user.email, DEFAULT_PASSWORD, address) == 429
    # The account itself is not locked: from another address it logs in.
    assert _attempt(throttled_app, user.email, DEFAULT_PASSWORD, unique_address()) == 302


def test_21_the_throttled_answer_is_the_same_whether_or_not_the_account_exists(
    throttled_app: Flask, world: World
) -> None:
    existing = _user(world, "exists")
    answers = []
    for email in (existing.email, _email("nobody")):
        address = unique_address()
        for _ in range(PER_ACCOUNT):
            assert _attempt(throttled_app, email, WRONG, address) == 401
        response = log_in(_browser(throttled_app, address), email, WRONG)
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("Set-Cookie", "Vary")
        }
        answers.append(
            (response.status_code, without_csrf(response.get_data(as_text=True)), headers)
        )
    assert answers[0][0] == 429
    assert answers[0] == answers[1]


def test_21_every_attempt_counts_before_it_is_checked(throttled_app: Flask, world: World) -> None:
    """Counting only failures, after the answer, would let attempts sent in parallel all
    be checked before the first failure was counted; so every attempt counts up front."""
    user = _user(world, "counted")
    address = unique_address()
    for _ in range(PER_ACCOUNT - 1):
        assert _attempt(throttled_app, user.email, WRONG, address) == 401
    assert _attempt(throttled_app, user.email, DEFAULT_PASSWORD, address) == 302  # the last
    assert _attempt(throttled_app, user.email, DEFAULT_PASSWORD, address) == 429


def test_21_failed_reauthentication_counts_with_the_accounts_logins(
    throttled_app: Flask, world: World, db_session: Session
) -> None:
    user = _user(world, "reauth")
    client = enter(_browser(throttled_app, unique_address()), db_session, user)
    for _ in range(PER_ACCOUNT):
        response = client.post(
            "/reauthenticate",
            data={"password": WRONG, "csrf_token": token(client, "/reauthenticate")},
        )
        assert response.status_code == 401
    response = client.post(
        "/reauthenticate",
        data={
            "password": DEFAULT_PASSWORD,
            "csrf_token": token(client, "/reauthenticate"),
        },
    )
    assert response.status_code == 429
    # Re-authentication and login share the account's count.
    assert _attempt(throttled_app, user.email, DEFAULT_PASSWORD, unique_address()) == 429


def test_21_throttling_counts_in_redis(build_app: Callable[..., Flask], world: World) -> None:
    redis = require_redis()
    app = build_app(ratelimit_storage_uri=f"{REDIS_URL}/{REDIS_TEST_DB}", **LIMITS)
    email = address = account = ""
    try:
        email, address = _the_fourth_attempt_is_refused(app, world)
        # The counts are in Redis (and not in the in-memory fallback): shared by every worker.
        # The account's key is a hash: what is typed as an e-mail may be a password.
        account = hashlib.sha256(email.encode()).hexdigest() if email else ""
        assert list(redis.scan_iter(match=f"*{account}*")), "no count of the account in Redis"
        assert not list(redis.scan_iter(match=f"*{email}*")), "the e-mail typed is a key"
        assert list(redis.scan_iter(match=f"*{address}*")), "no count of the address in Redis"
    finally:
        forget_redis_keys(redis, *filter(None, (account, address)))


def test_21_behind_a_trusted_proxy_each_client_address_counts_apart(
    build_app: Callable[..., Flask], world: World
) -> None:
    """Behind one proxy every request comes from the proxy's address: without
    trusted_proxies one person's failures would lock everyone out."""
    app = build_app(trusted_proxies=1, **LIMITS)
    proxy = unique_address()
    attacker, bystander = unique_address(), unique_address()
    for _ in range(PER_ADDRESS):
        client = _browser(app, proxy)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = attacker
        log_in(client, _email("sprayed"), WRONG)
    client = _browser(app, proxy)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = attacker
    assert log_in(client, _email("sprayed"), WRONG).status_code == 429
    client = _browser(app, proxy)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = bystander
    assert log_in(client, _email("bystander"), WRONG).status_code == 401


def test_21_without_trusted_proxies_a_forwarded_address_is_ignored(
    throttled_app: Flask, world: World
) -> None:
    address = unique_address()
    for number in range(PER_ADDRESS):
        client = _browser(throttled_app, address)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.99.{number}.1"  # spoofed
        log_in(client, _email("spoofer"), WRONG)
    client = _browser(throttled_app, address)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.99.200.1"
    assert log_in(client, _email("spoofer"), WRONG).status_code == 429


def test_21_ipv6_addresses_count_by_their_64_bit_network(throttled_app: Flask) -> None:
    """A host usually holds a whole /64: a new address per attempt must not escape."""
    network = f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:1"
    for host in range(PER_ADDRESS):
        assert _attempt(throttled_app, _email("v6"), WRONG, f"{network}::{host + 1:x}") == 401
    assert _attempt(throttled_app, _email("v6"), WRONG, f"{network}::ffff") == 429
    assert _attempt(throttled_app, _email("v6"), WRONG, f"{network[:-1]}2::1") == 401


def test_21_guessing_the_current_password_at_password_change_is_throttled_and_audited(
    throttled_app: Flask, world: World, db_session: Session
) -> None:
    user = _user(world, "changer")
    client = enter(_browser(throttled_app, unique_address()), db_session, user)
    form = {
        "new_password": "a fresh long passphrase 42",
        "confirm_password": "a fresh long passphrase 42",
    }
    statuses = []
    for _ in range(PER_ACCOUNT + 1):
        data = {**form, "current_password": WRONG, "csrf_token": token(client, "/account/password")}
        statuses.append(client.post("/account/password", data=data).status_code)
    assert statuses == [401] * PER_ACCOUNT + [429]
    failures = events(db_session, action="login.failure", target=user)
    assert [event.detail["step"] for event in failures] == ["password-change"] * PER_ACCOUNT
