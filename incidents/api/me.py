"""`GET /api/v1/me`: whom the bearer token acts for, and the token itself.

A program checks its token here before it does anything: the user's e-mail and roles,
and the token's id, name, scopes and expiry. Any valid token may ask; what the token
may do beyond this is what its scopes allow of the user's roles.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from incidents.api.operations import operation
from incidents.context import Context
from incidents.services import api_tokens


class TokenInUse(BaseModel):
    """The token the request was made with (never its text)."""

    id: uuid.UUID
    name: str
    scopes: list[str] = Field(description="What the token may be used for, e.g. cases:read.")
    expires_at: datetime | None = Field(description="When the token stops working (UTC).")


class Me(BaseModel):
    """The user a token acts for, and the token."""

    email: str
    roles: list[str] = Field(description="The user's roles; the token never exceeds them.")
    token: TokenInUse


@operation(
    "GET",
    "/me",
    name="me",
    summary="Whom this token acts for",
    scope="any",
    tag="Tokens",
    response=Me,
)
def me(ctx: Context) -> Me:
    """The token's user (e-mail and roles) and the token: its id, name, scopes, expiry."""
    token = api_tokens.current_token(ctx)
    return Me(
        email=ctx.user.email,
        roles=sorted(role.value for role in ctx.user.role_set),
        token=TokenInUse(
            id=token.id,
            name=token.name,
            scopes=[scope.value for scope in token.scopes],
            expires_at=token.expires_at,
        ),
    )
