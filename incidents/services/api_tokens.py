"""Personal API tokens: made by their user (or the operator), shown once, kept as a hash.

A token acts for its user through the JSON API with only what its scopes allow of what
the user's roles hold (incidents/permissions.py `held_permissions`), so every service
check applies to it unchanged. It always expires (90 days unless chosen, at most 365),
its owner or an administrator can revoke it, and it never outlives its user's access:
disabling the user or changing their roles or teams revokes every token they have
(incidents/services/accounts.py). Every use is audited as `token:<id>`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import IncidentsError, NotFound, PermissionDenied, ValidationError
from incidents.models.user import ApiToken, User
from incidents.permissions import (
    Operator,
    Permission,
    Scope,
    TokenGrant,
    can,
    ensure,
    usable_scopes,
)
from incidents.records.inputs import parse_id
from incidents.repositories import accounts as account_queries
from incidents.repositories import api_tokens as queries

PREFIX = "inc_"  # says what the string is, to the user and to secret scanners
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100  # PREFIX + token_urlsafe(32) is 47 characters; anything longer is not one
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
MAX_NAME_LENGTH = 100  # the column's length
# last_used_at is written at most this often, so that reading through the API is not a
# write per call; "last used" is therefore exact to within this much.
LAST_USED_RESOLUTION = timedelta(seconds=60)
INVALID_TOKEN = "The API token is not valid."  # noqa: S105 (a message, not a token)
SCOPE_NAMES = ", ".join(scope.value for scope in Scope)


class InvalidToken(IncidentsError):
    """An unknown, revoked or expired token, or one of a disabled user: the same message
    for each, so that a caller learns nothing of which."""

    def __init__(self) -> None:
        super().__init__(INVALID_TOKEN)


class RevokeReason:
    """Why a token was revoked, as its audit event says."""

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    ROLES = "roles"
    TEAMS = "teams"
    DISABLED = "disabled"


@dataclass(frozen=True)
class TokenView:
    """A token as its owner and administrators see it: never its hash."""

    id: uuid.UUID
    user_email: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str  # "active", "expired" or "revoked"

    @property
    def is_active(self) -> bool:
        return self.state == "active"


def _digest(token_text: str) -> str:
    return hashlib.sha256(token_text.encode("utf-8")).hexdigest()


def scopes_of(token: ApiToken) -> frozenset[Scope]:
    """The token's stored scopes; a name this version does not know grants nothing."""
    known = {scope.value: scope for scope in Scope}
    return frozenset(known[name] for name in token.scopes.split() if name in known)


def _ordered(scopes: Iterable[Scope]) -> tuple[Scope, ...]:
    chosen = set(scopes)
    return tuple(scope for scope in Scope if scope in chosen)


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _view(token: ApiToken, owner: User, now: datetime) -> TokenView:
    return TokenView(
        id=token.id,
        user_email=owner.email,
        name=token.name,
        scopes=_ordered(scopes_of(token)),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        state=_state(token, now),
    )


def _is_owner(ctx: Context, user_id: uuid.UUID) -> bool:
    return isinstance(ctx.principal, User) and ctx.principal.id == user_id


def _ensure_own_or_managed(ctx: Context, user: User) -> None:
    if not _is_owner(ctx, user.id):
        ensure(ctx.principal, Permission.USERS_MANAGE)


def scopes_for(user: User) -> tuple[Scope, ...]:
    """The scopes a token of `user` may be given: those their roles can use at all."""
    return _ordered(usable_scopes(user.role_set))


# -- making a token ---------------------------------------------------------------------


def _ensure_may_make_for(ctx: Context, user: User) -> None:
    """A user makes their own tokens in a browser session, the operator anyone's; an
    administrator does not make another user's (it would act as them), and a token
    does not make a token (it would outlive its own expiry)."""
    if isinstance(ctx.principal, Operator):
        return
    if not _is_owner(ctx, user.id):
        raise PermissionDenied("Only a user, on their account page, makes their own API tokens.")
    if user.token_grant is not None:
        raise PermissionDenied("An API token cannot make another: use your account page.")
    if user.under_duress:  # a token would act with the account's real teams
        raise ValidationError.on("name", "No API token can be made at the moment.")


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ValidationError.on(
            "name",
            f"Give the token a name of 1 to {MAX_NAME_LENGTH} characters that says where it "
            "is used, e.g. “nightly export”.",
        )
    return name


def _checked_scopes(user: User, names: Iterable[str]) -> frozenset[Scope]:
    known = {scope.value: scope for scope in Scope}
    wanted = {name.strip() for name in names if name.strip()}
    unknown = sorted(wanted - known.keys())
    if unknown:
        raise ValidationError.on(
            "scopes", f"There is no scope {unknown[0]!r}: choose from {SCOPE_NAMES}."
        )
    usable = scopes_for(user)
    roles = ", ".join(sorted(role.value for role in user.role_set)) or "no role"
    if not usable:
        raise ValidationError.on(
            "scopes",
            f"The roles of {user.email} ({roles}) allow nothing an API token may do: "
            "a token reads and writes case and advocacy records, never accounts or keys.",
        )
    choose = ", ".join(scope.value for scope in usable)
    if not wanted:
        raise ValidationError.on("scopes", f"Choose at least one scope: {choose}.")
    chosen = frozenset(known[name] for name in wanted)
    for scope in _ordered(chosen):
        if scope not in usable:
            raise ValidationError.on(
                "scopes",
                f"The roles of {user.email} ({roles}) give the scope {scope.value} nothing "
                f"to allow: choose from {choose}.",
            )
    return chosen


def _checked_expiry(days: int) -> int:
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValidationError.on(
            "expires_in_days",
            f"Choose an expiry of 1 to {MAX_EXPIRY_DAYS} days ({DEFAULT_EXPIRY_DAYS} unless "
            "you need another).",
        )
    return days


def create(
    ctx: Context,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token for `user`: its text, to show once (only its SHA-256 is stored), and
    the row. The scopes are names ("cases:read"); each must be one the user's roles can
    use. ValidationError, beside the field it is about, for anything else."""
    _ensure_may_make_for(ctx, user)
    if not user.is_active:
        raise ValidationError.on(
            "user", f"{user.email} is disabled: enable the account before making it a token."
        )
    checked_name = _checked_name(name)
    chosen = _checked_scopes(user, scopes)
    days = _checked_expiry(expires_in_days)
    now = now or utcnow()
    expires_at = now + timedelta(days=days)
    token_text = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=checked_name,
        token_hash=_digest(token_text),
        scopes=" ".join(scope.value for scope in _ordered(chosen)),
        created_at=now,
        expires_at=expires_at,
    )
    ctx.session.add(token)
    ctx.session.flush()
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.API_TOKEN_CREATE,
        token,
        fields=["name", "scopes", "expires_at", "token_hash"],
        detail={**_described(token, user), "expires_at": expires_at.isoformat()},
    )
    return token_text, token


def _described(token: ApiToken, owner: User) -> dict[str, object]:
    """What an audit event says of a token: never the token, nor its hash."""
    return {
        "token": str(token.id),
        "user": owner.email,
        "name": token.name,
        "scopes": [scope.value for scope in _ordered(scopes_of(token))],
    }


# -- listing and revoking ---------------------------------------------------------------


def list_tokens(
    ctx: Context, user: User | None = None, now: datetime | None = None
) -> list[TokenView]:
    """The tokens of `user` (their own, or anyone's for an administrator), newest first;
    without a user, every token (administrators and the operator)."""
    if user is None:
        ensure(ctx.principal, Permission.USERS_MANAGE)
    else:
        _ensure_own_or_managed(ctx, user)
    if ctx.under_duress:  # their names and scopes would say what the account does
        return []
    now = now or utcnow()
    rows = queries.tokens_with_owners(ctx.session, None if user is None else user.id)
    return [_view(token, owner, now) for token, owner in rows]


def usable_token_count(ctx: Context, user: User, now: datetime | None = None) -> int:
    """How many of the user's tokens could be used now."""
    _ensure_own_or_managed(ctx, user)
    return len(queries.usable_tokens(ctx.session, user.id, now or utcnow()))


def _revoke(ctx: Context, token: ApiToken, owner: User, reason: str, now: datetime) -> None:
    token.revoked_at = now
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.API_TOKEN_REVOKE,
        token,
        fields=["revoked_at"],
        detail={**_described(token, owner), "reason": reason},
    )


def revoke(
    ctx: Context, token_id: uuid.UUID | str, now: datetime | None = None
) -> tuple[TokenView, bool]:
    """Revoke one token: its owner's, or anyone's for an administrator. Returns the token
    as it is now and whether this call revoked it (False: it was revoked already). Another
    user's token is NotFound for anyone else, exactly as an id that names nothing."""
    key = token_id if isinstance(token_id, uuid.UUID) else parse_id(str(token_id))
    token = None if key is None else queries.token_by_id(ctx.session, key)
    owned = token is not None and _is_owner(ctx, token.user_id)
    if token is None or not (owned or can(ctx.principal, Permission.USERS_MANAGE)):
        raise NotFound("There is no such API token: see the list of your tokens.")
    owner = account_queries.user_by_id(ctx.session, token.user_id)
    assert owner is not None  # the foreign key
    now = now or utcnow()
    revoking = token.revoked_at is None
    if revoking:
        reason = RevokeReason.OWNER if owned else RevokeReason.ADMINISTRATOR
        _revoke(ctx, token, owner, reason, now)
        ctx.session.flush()
    return _view(token, owner, now), revoking


def revoke_all(ctx: Context, user: User, reason: str, now: datetime | None = None) -> int:
    """Revoke every token of `user` that could still be used, each an audit event with
    `reason`; returns how many. The account changes that narrow a user's access call it."""
    _ensure_own_or_managed(ctx, user)
    now = now or utcnow()
    tokens = queries.usable_tokens(ctx.session, user.id, now)
    for token in tokens:
        _revoke(ctx, token, user, reason, now)
    if tokens:
        ctx.session.flush()
    return len(tokens)


# -- using a token ----------------------------------------------------------------------


def authenticate(ctx: Context, token_text: str, now: datetime | None = None) -> User:
    """The user `token_text` acts for, with the token's grant attached, so that every
    permission check narrows to its scopes; InvalidToken — one message for every reason —
    for an unknown, revoked or expired token or a disabled user.

    Writes last_used_at at most once a minute; the caller commits."""
    if not token_text.startswith(PREFIX) or len(token_text) > MAX_TOKEN_LENGTH:
        raise InvalidToken
    digest = _digest(token_text)
    # Looked up by its hash: what the lookup's timing could tell is about the hash, which
    # says nothing of the token; the comparison itself takes constant time.
    token = queries.token_by_hash(ctx.session, digest)
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise InvalidToken
    now = now or utcnow()
    user = account_queries.user_by_id(ctx.session, token.user_id)
    if user is None or not user.is_active or _state(token, now) != "active":
        raise InvalidToken
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        ctx.session.flush()
    user.act_through_token(TokenGrant(token.id, scopes_of(token)))
    return user


def current_token(ctx: Context, now: datetime | None = None) -> TokenView:
    """The token the acting user is using (the API's "who am I")."""
    user = ctx.user
    grant = user.token_grant
    token = None if grant is None else queries.token_by_id(ctx.session, grant.token_id)
    if token is None:
        raise PermissionDenied("This is asked with an API token, in the Authorization header.")
    return _view(token, user, now or utcnow())
