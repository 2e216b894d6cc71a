"""`incidents demo`: from a fresh checkout to a running application with the demo case."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from incidents import migrate
from incidents.bootstrap import DEV_AUDIT_KEY_FILE, DEV_KEY_FILE, DEV_SECRET_FILE
from incidents.cli.boundary import operator_unit
from incidents.extensions import audit_signer, db
from incidents.services import demo
from incidents.settings import Settings


@click.command("demo")
@click.option("--no-serve", is_flag=True, help="Seed only; do not start the web server.")
@click.option("--reset", is_flag=True, help="Empty the database first, then seed again.")
@click.option("--port", default=5000, show_default=True, help="Port to serve on.")
@with_appcontext
def demo_command(no_serve: bool, reset: bool, port: int) -> None:
    """Create the schema, seed the 2017 Chechnya case and demo users, and serve the app."""
    settings: Settings = current_app.config["INCIDENTS_SETTINGS"]
    if settings.is_production:
        raise click.ClickException("the demo refuses to run in production")
    # Every development key exists before anything is served: the master key and the
    # secret key came with the application, the audit signing key is made now rather
    # than on the first audit page.
    audit_signer()
    if reset:
        migrate.downgrade(db.engine, "base")
    migrate.upgrade(db.engine)
    with operator_unit() as ctx:  # seeded and committed before the server starts
        outcome = demo.seed(ctx)
    click.echo("Demo case: " + ("seeded." if outcome.seeded else "already present, kept as is."))
    for refusal in outcome.refused_links:  # the demo shows the consent check at work
        click.echo(f"  Link refused, as the demo intends: {refusal}")
    keys = _development_keys(settings)
    if keys:
        click.echo("Development keys (for this demo only, never for real data):")
        for path in keys:
            click.echo(f"  {path}")
    click.echo("Demo users (passwords are new on every run):")
    role_width = max(len(line.role_label) for line in outcome.credentials)
    login_width = max(len(line.email) for line in outcome.credentials)
    for line in outcome.credentials:
        click.echo(
            f"  {line.role_label:<{role_width}}  login: {line.email:<{login_width}}"
            f"  password: {line.password}"
        )
    if settings.require_two_factor:
        click.echo(
            "The demo users log in without a second factor, which only a demo allows (every "
            "page says so); any other account sets one up at its first login."
        )
    if no_serve:
        return
    click.echo(f"Serving on http://127.0.0.1:{port}/ — press Ctrl+C to stop.")
    # Flask's app.run() declines to start inside its own CLI; serve with Werkzeug directly.
    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]


def _development_keys(settings: Settings) -> list[Path]:
    """The key files development generated in the instance folder (configured ones are
    the operator's, and not listed)."""
    folder = settings.instance_dir
    names = (DEV_KEY_FILE, DEV_SECRET_FILE, DEV_AUDIT_KEY_FILE)
    return [folder / name for name in names if (folder / name).is_file()]
