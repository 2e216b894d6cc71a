"""`incidents check-config`: is this configuration ready for production? Every problem at
once, one a line, with what to set; exit 1 while there is any.

The application refuses to start at the first problem its settings have; this command
loads them without refusing (the same rules, incidents/settings.py) and goes on to what
only the server shows: the key files, the database, Redis, the instance folder.
"""

from __future__ import annotations

from typing import get_args

import click

from incidents.bootstrap import load_audit_signer, load_key_provider, load_secret_key
from incidents.errors import ConfigurationError
from incidents.extensions import SQLITE_BEGIN, make_engine
from incidents.services import readiness
from incidents.settings import Environment, load_settings

LOADERS = readiness.Loaders(
    secret_key=load_secret_key,
    master_keys=load_key_provider,
    audit_signer=lambda settings: load_audit_signer(settings, generate=False),
)


@click.command("check-config")
@click.option(
    "--env",
    "env",
    type=click.Choice(get_args(Environment)),
    default=None,
    help="Check as this environment (e.g. production) instead of the configured one.",
)
def check_config_command(env: str | None) -> None:
    """List every problem of the configuration for its environment; exit 1 if any."""
    try:
        settings = load_settings({"env": env} if env else None, refuse_production_problems=False)
    except ConfigurationError as exc:
        click.echo(f"problem: {exc}")
        raise click.ClickException(
            "the settings cannot be read; nothing else was checked"
        ) from None
    click.echo(f"checking the {settings.env} configuration", err=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        # Only reads: on SQLite it takes no write lock from a running application.
        reading = engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
        found = readiness.check(settings, reading, LOADERS)
    finally:
        engine.dispose()
    for warning in found.warnings:
        click.echo(f"warning: {warning}")
    for problem in found.problems:
        click.echo(f"problem: {problem}")
    if not found.ready:
        count = len(found.problems)
        click.echo(
            f"error: {count} problem{'s' if count > 1 else ''}: not ready for {settings.env}",
            err=True,
        )
        raise click.exceptions.Exit(1)
    click.echo(f"ready for {settings.env}: no problems found")
