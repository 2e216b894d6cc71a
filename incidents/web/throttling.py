"""Login throttling (security check 21): attempts counted per account and per network address.

Every POST to a page that checks a password or a second-factor code counts, before the
check runs — counting only failures would let attempts sent in parallel all be tried
before the first failure is counted. The limits are set so that a person logging in
normally never meets them. The answer to a throttled attempt (429) is the same whether
or not the account exists.

In production the counts live in Redis, shared by every worker and every server. When
Redis cannot be reached, sign-in fails closed: each attempt is refused (503, with a log
line for the administrator) rather than counted in the worker's own memory, where every
limit would be multiplied by the number of workers and forgotten at each restart. Pages
of people already signed in do not count anything, so they keep working. Development
counts in memory (memory://) unless it is configured for Redis, and then fails alike.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging

from flask import request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from limits.errors import StorageError

from incidents.extensions import limiter
from incidents.web.boundary import settings
from incidents.web.errors import render_error

log = logging.getLogger(__name__)

PENDING_LOGIN_KEY = "pending_login"
# IPv6 hosts usually hold a whole /64: counting per address there would count nothing.
IPV6_PREFIX = 64
STORE_UNREACHABLE = (
    "Sign-in is unavailable: the rate-limit store cannot be reached. Try again shortly; "
    "the administrator has been told."
)
STORE_RETRY_AFTER_SECONDS = 30


def _setting(name: str) -> str:
    value: str = getattr(settings(), name)
    return value


def account_key() -> str:
    """Who the attempt is for: the e-mail typed, the pending login, or the logged-in user.

    An e-mail with no account is counted exactly like one with an account. The key is a
    hash: what was typed in the e-mail box may be a password typed in the wrong box, and
    the counter store (Redis) keeps keys for the length of the window.
    """
    if request.endpoint == "auth.login":
        email = request.form.get("email", "")
    elif request.endpoint == "auth.verify":
        email = (session.get(PENDING_LOGIN_KEY) or {}).get("email", "")
    else:
        email = current_user.email if current_user.is_authenticated else ""
    normalised = email.strip().lower()[:254]
    return "account:" + hashlib.sha256(normalised.encode()).hexdigest()


def address_key() -> str:
    """The client's address (after ProxyFix, when trusted_proxies is set); IPv6 by /64."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "address:" + raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"address:{address.ipv4_mapped}"
        return "address:" + str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return f"address:{address}"


per_account = limiter.shared_limit(
    lambda: _setting("login_limit_per_account"),
    scope="login-account",
    key_func=account_key,
    methods=["POST"],
)
per_address = limiter.shared_limit(
    lambda: _setting("login_limit_per_address"),
    scope="login-address",
    key_func=address_key,
    methods=["POST"],
)


def store_unreachable(error: StorageError) -> None:
    """Tell the administrator, in the application log, that sign-in is refused."""
    cause = type(error.storage_error).__name__
    log.error(
        "rate-limit store unreachable (%s): refusing %s until it answers; check "
        "ratelimit_storage_uri and that Redis is running",
        cause,
        request.endpoint or request.path,
    )


def store_unreachable_page(error: StorageError) -> ResponseReturnValue:
    """503 for an attempt that could not be counted: fail closed, never a 500."""
    store_unreachable(error)
    body, status = render_error(503, STORE_UNREACHABLE, "Sign-in unavailable")
    return body, status, {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}
