"""`incidents demo`: from a fresh checkout to a running application with the demo case."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from incidents import migrate
from incidents.cli.boundary import operator_unit
from incidents.extensions import db
from incidents.services import demo


@click.command("demo")
@click.option("--no-serve", is_flag=True, help="Seed only; do not start the web server.")
@click.option("--reset", is_flag=True, help="Empty the database first, then seed again.")
@click.option("--port", default=5000, show_default=True, help="Port to serve on.")
@with_appcontext
def demo_command(no_serve: bool, reset: bool, port: int) -> None:
    """Create the schema, seed the 2017 Chechnya case and demo users, and serve the app."""
    if current_app.config["INCIDENTS_SETTINGS"].is_production:
        raise click.ClickException("the demo refuses to run in production")
    if reset:
        migrate.downgrade(db.engine, "base")
    migrate.upgrade(db.engine)
    with operator_unit() as ctx:  # seeded and committed before the server starts
        outcome = demo.seed(ctx)
    click.echo("Demo case: " + ("seeded." if outcome.seeded else "already present, kept as is."))
    click.echo("Demo users (passwords are new on every run):")
    for line in outcome.credentials:
        click.echo(f"  role={line.role}  login={line.email}  password={line.password}")
    if no_serve:
        return
    click.echo(f"Serving on http://127.0.0.1:{port}/ — press Ctrl+C to stop.")
    # Flask's app.run() declines to start inside its own CLI; serve with Werkzeug directly.
    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
