"""Who calls the API: a personal token in `Authorization: Bearer …`, never a cookie.

`api_limit` goes on every API view: it counts the call against the rate limit — per
token, or per network address when the call carries no valid token, so that guessing
tokens is limited too — and then authenticates it (`authenticate_request`), so a view
runs only for a valid token, acting for its user with the token's scopes. A cookie sent
along is never read (incidents/web/boundary.py `api_context`): the API needs no CSRF
token, since a forged cross-site request cannot carry the bearer token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, request
from sqlalchemy.exc import SQLAlchemyError

from incidents.extensions import limiter
from incidents.models.user import User
from incidents.services import api_tokens
from incidents.web import boundary
from incidents.web.throttling import address_key

F = TypeVar("F", bound=Callable[..., Any])

BEARER = "bearer"
_CALLER = "api_caller"  # in `g`: the token's user, or None once the token was refused
_CALLER_FAILED = "api_caller_failed"  # in `g`: the database error checking the token met


class TokenRefused(Exception):
    """No token, or one that is unknown, revoked, expired or of a disabled user: one
    answer for all of them, so that a caller learns nothing of which."""


def bearer_token() -> str | None:
    """The token of the `Authorization: Bearer <token>` header, or None."""
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != BEARER:
        return None
    return credentials.strip() or None


def _caller() -> User | None:
    """The user the request's token acts for, or None; checked once per request (the rate
    limit's key and the authentication both ask)."""
    failed: SQLAlchemyError | None = g.get(_CALLER_FAILED)
    if failed is not None:
        raise failed
    if _CALLER not in g:
        token = bearer_token()
        caller = None
        if token is not None:
            try:
                caller = api_tokens.authenticate(boundary.api_context(), token)
            except api_tokens.InvalidToken:
                caller = None
            except SQLAlchemyError as error:
                setattr(g, _CALLER_FAILED, error)  # asked again, the same error, not a new one
                raise
        setattr(g, _CALLER, caller)
    found: User | None = g.get(_CALLER)
    return found


def authenticate_request() -> None:
    """Make the request act for the token's user, or raise TokenRefused."""
    boundary.api_context()  # from here on no cookie is read, whatever happens
    user = _caller()
    if user is None:
        raise TokenRefused(api_tokens.INVALID_TOKEN)
    boundary.act_through_token(user)


def rate_limit_key() -> str:
    """What a call is counted against: its token, or its address without a valid one.

    The database failing here (busy, gone) is counted against the address and left for
    `authenticate_request` to raise: the limiter takes any error of its key for its own
    storage failing, and would refuse the call as if the rate-limit store were down."""
    try:
        user = _caller()
    except SQLAlchemyError:
        return address_key()
    grant = None if user is None else user.token_grant
    return address_key() if grant is None else f"api-token:{grant.token_id}"


_limit = limiter.shared_limit(
    lambda: str(boundary.settings().api_rate_limit),
    scope="api",
    key_func=rate_limit_key,
)


def api_limit(view: F) -> F:
    """The rate limit of API calls, per token, and then the token's authentication: the
    one decorator every API view carries."""

    @functools.wraps(view)
    def authenticated(*args: Any, **kwargs: Any) -> Any:
        authenticate_request()
        return view(*args, **kwargs)

    return cast(F, _limit(authenticated))
