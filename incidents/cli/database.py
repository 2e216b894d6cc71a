"""`incidents db …`: schema migrations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from incidents import migrate
from incidents.extensions import db


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    migrate.upgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine)}")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back)."""
    migrate.downgrade(db.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(db.engine) or 'base (empty)'}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    current = migrate.current_revision(db.engine)
    head = migrate.head_revision(db.engine)
    state = "up to date" if current == head else "needs `incidents db upgrade`"
    click.echo(f"current: {current or 'none (empty database)'}\nhead:    {head}\n{state}")
