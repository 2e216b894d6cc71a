"""`incidents tokens …`: personal API tokens, made, listed and revoked by the operator.

The same service and rules as the account page (scopes the user's roles can use, an
expiry of at most a year, only the hash kept), with the operator as the audited actor.
A new token is printed once, on stdout, after the unit of work has committed: a token
whose row was not saved is never shown.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from incidents.cli.boundary import as_operator, operator_unit
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.user import User
from incidents.permissions import Scope
from incidents.services import accounts, api_tokens

SCOPE_CHOICE = click.Choice([scope.value for scope in Scope])
COLUMNS = ("id", "user", "name", "scopes", "created", "expires", "last used", "state")


def _user(ctx: Context, email: str) -> User:
    user = accounts.find_user_by_email(ctx, email)
    if user is None:
        raise ValidationError(f"No user has the e-mail {email!r} (see `incidents users list`).")
    return user


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


@click.group("tokens")
def tokens_group() -> None:
    """Personal API tokens: create, list, revoke."""


@tokens_group.command("create")
@click.option("--user", "email", required=True, help="E-mail of the user the token acts for.")
@click.option("--name", required=True, help="Where the token is used, e.g. 'nightly export'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=SCOPE_CHOICE,
    help="What the token may do; repeat for several.",
)
@click.option(
    "--expires-in-days",
    type=int,
    default=api_tokens.DEFAULT_EXPIRY_DAYS,
    show_default=True,
    help=f"Days until the token stops working (at most {api_tokens.MAX_EXPIRY_DAYS}).",
)
@with_appcontext
def tokens_create(email: str, name: str, scopes: tuple[str, ...], expires_in_days: int) -> None:
    """Make a token for the user EMAIL and print it, once, on stdout."""
    with operator_unit() as ctx:
        token_text, token = api_tokens.create(ctx, _user(ctx, email), name, scopes, expires_in_days)
        expires = _when(token.expires_at)
    click.echo(token_text)
    click.echo(
        f"warning: store this token now: it is not shown again (id {token.id}, expires "
        f"{expires} UTC)",
        err=True,
    )


@tokens_group.command("list")
@click.option("--user", "email", help="Only the tokens of the user with this e-mail.")
@as_operator
def tokens_list(ctx: Context, email: str | None) -> None:
    """List tokens, newest first: id, user, name, scopes, dates, state."""
    user = None if email is None else _user(ctx, email)
    rows = api_tokens.list_tokens(ctx, user)
    if not rows:
        click.echo("no API tokens", err=True)
        return
    click.echo("\t".join(COLUMNS))
    for row in rows:
        scopes = ",".join(scope.value for scope in row.scopes) or "-"
        click.echo(
            "\t".join(
                [
                    str(row.id),
                    row.user_email,
                    row.name,
                    scopes,
                    _when(row.created_at),
                    _when(row.expires_at),
                    _when(row.last_used_at),
                    row.state,
                ]
            )
        )


@tokens_group.command("revoke")
@click.argument("token_id")
@as_operator
def tokens_revoke(ctx: Context, token_id: str) -> str:
    """Revoke the token TOKEN_ID (see `incidents tokens list`): it stops working at once."""
    try:
        token, revoked_now = api_tokens.revoke(ctx, token_id)
    except NotFound:
        raise ValidationError(
            f"No API token has the id {token_id!r} (see `incidents tokens list`)."
        ) from None
    if not revoked_now:
        return f"token {token.id} ({token.name}) of {token.user_email} was revoked already"
    return f"revoked token {token.id} ({token.name}) of {token.user_email}"
