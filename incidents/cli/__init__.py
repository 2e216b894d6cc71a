"""The `incidents` command: a Flask CLI group, so `incidents run` and `incidents shell` work.

One module per command group; each command acts as the operator in one unit of work
(incidents/cli/boundary.py) and calls services only. Every failure ends with a one-line
reason on stderr and a non-zero exit status.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import DBAPIError

from incidents import create_app
from incidents.cli.accounts import teams_group, users_group
from incidents.cli.audit import audit_group
from incidents.cli.backup import backup_group, restore_command
from incidents.cli.check_config import check_config_command
from incidents.cli.database import db_group
from incidents.cli.demo import demo_command
from incidents.cli.evidence import evidence_group
from incidents.cli.health import check_command
from incidents.cli.imports import import_command
from incidents.cli.keys import keys_group
from incidents.cli.records import erase_command, export_command
from incidents.cli.retention import retention_group
from incidents.cli.tokens import tokens_group
from incidents.errors import IncidentsError
from incidents.outages import DISK_FULL, database_unreachable, disk_full
from incidents.sqlite_locking import database_busy


def _app_factory() -> Any:
    return create_app()


class IncidentsGroup(FlaskGroup):
    """A FlaskGroup that lists and finds its commands without building the application.

    Flask's own group builds the app to look for commands on `app.cli`; this project
    registers none there, and building the app for `--help` generated development keys
    as a side effect and printed a traceback when the configuration was broken. Commands
    that need the app still build it, through `with_appcontext`.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        return click.Group.get_command(self, ctx, name)


cli = IncidentsGroup(
    create_app=_app_factory,
    add_default_commands=True,
    load_dotenv=False,
    set_debug_flag=False,
    help="Incidents: a documentation database for human-rights incidents.",
)


for command in (
    db_group,
    users_group,
    teams_group,
    tokens_group,
    keys_group,
    erase_command,
    retention_group,
    export_command,
    import_command,
    evidence_group,
    audit_group,
    backup_group,
    restore_command,
    demo_command,
    check_command,
    check_config_command,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: run the group; turn known errors into one line on stderr."""
    try:
        status = cli.main(prog_name="incidents", standalone_mode=False)
        sys.exit(status if isinstance(status, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        # One line, like every other failure; `--help` is where the usage lives.
        click.echo(f"error: {exc.format_message()} (see `incidents --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except IncidentsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        if not disk_full(exc):
            raise
        click.echo(f"error: {DISK_FULL}", err=True)
        sys.exit(1)
    except DBAPIError as exc:
        if disk_full(exc):
            click.echo(f"error: {DISK_FULL}", err=True)
            sys.exit(1)
        # The driver's first line says what the database refused (unreachable, a value
        # it will not store); the statement and its parameters, which may quote what
        # was typed, stay out of it.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if database_unreachable(exc):
            reason = f"not answering ({reason}); nothing was changed, run it again once it is back"
        elif database_busy(exc):
            reason = (
                f"busy ({reason}: the server or another command held the SQLite write lock "
                "for over 5 s); nothing was changed, run it again"
            )
        click.echo(f"error: database: {reason}", err=True)
        sys.exit(1)
