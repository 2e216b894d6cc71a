"""Does the rate limiter's store answer? Asked by `incidents check` and `incidents
check-config`.

Login attempts and API calls are counted in this store (Redis in production), shared by
every worker and server. While it does not answer, sign-in and the API are refused
(incidents/web/throttling.py), so the checks say so before users find out.
"""

from __future__ import annotations

from typing import Any

MEMORY_STORE = "memory://"
# How long a check waits for the store; a login waits as long (incidents/__init__.py).
STORE_TIMEOUT_SECONDS = 2
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")


def storage_options(uri: str) -> dict[str, Any]:
    """Options of the limiter's storage: its errors arrive as one type
    (limits.errors.StorageError) whatever the store, and Redis gives up after a short
    timeout rather than hold a worker's thread for the length of a TCP timeout."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if uri.startswith(_REDIS_SCHEMES):
        options["socket_connect_timeout"] = STORE_TIMEOUT_SECONDS
        options["socket_timeout"] = STORE_TIMEOUT_SECONDS
    return options


def location(uri: str) -> str:
    """The store's URL without its password, for messages."""
    scheme, separator, rest = uri.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not separator or not at:
        return uri
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + ':***' if user else '***'}@{place}"


def problem(uri: str) -> str | None:
    """None when the store answers (Redis: PING); else the first line of why not.

    memory:// always answers: it is the process's own memory."""
    if uri.startswith(MEMORY_STORE):
        return None
    from limits.storage import storage_from_string

    try:
        storage = storage_from_string(uri, **storage_options(uri))
        client = getattr(storage, "storage", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()  # Redis says why it does not answer; check() only says that
        elif not storage.check():
            return "it does not answer"
    except Exception as exc:  # any store's client: refused, unknown host, wrong password
        cause = getattr(exc, "storage_error", None) or exc
        lines = str(cause).strip().splitlines()
        return lines[0] if lines else type(cause).__name__
    return None
