"""The /api/v1 blueprint: every view is an operation (incidents/api/operations.py), which
counts the call against the rate limit and then authenticates its bearer token
(incidents/api/auth.py `api_limit`), or one of the few views that say what the API is.

The API is exempt from CSRF protection by design: a bearer token travels in a header,
which a browser never adds on its own to a request another site makes it send, and the
session cookie never authenticates the API. For the same reason the web's login hook
lets API views through (they are marked public for the cookie login) to the token check
of each operation, which refuses every request without a valid token — but the OpenAPI
document and the reference page, which say only what the API is. A view added to the
blueprint some other way is refused before it runs: deny by default, as for the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, request

from incidents.api import auth
from incidents.web.security import public

PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable[..., Any])

api = Blueprint("api", __name__, url_prefix=PREFIX)


def token_checked(view: F) -> F:
    """Mark an API view as one whose token is checked (by `auth.api_limit`, which the view
    must carry), so that the cookie login lets it through to that check."""
    view.token_checked = True  # type: ignore[attr-defined]
    return public(view)


def without_token(view: F) -> F:
    """Mark an API view that needs no token (the API's own description)."""
    view.without_token = True  # type: ignore[attr-defined]
    return public(view)


@api.before_request
def refuse_unchecked_views() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if not (getattr(view, "token_checked", False) or getattr(view, "without_token", False)):
        raise auth.TokenRefused("This view does not check API tokens.")
