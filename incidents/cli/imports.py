"""`incidents import FILE`: records from a JSON export, a CSV of one kind or a ZIP of
CSVs, all or nothing; `incidents import --template KIND`: the header of a CSV to fill in."""

from __future__ import annotations

from pathlib import Path

import click

from incidents.cli.boundary import as_operator
from incidents.cli.output import progress
from incidents.context import Context
from incidents.records.kinds import KINDS, kind_named
from incidents.services import imports
from incidents.services.import_csv import template
from incidents.services.import_files import FORMATS
from incidents.services.import_writes import UNCHANGED

# Evidence is received as a file, not typed into a table.
CSV_KINDS = [kind.name for kind in KINDS if kind.name != "evidence"]


@click.command("import")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--kind", type=click.Choice(CSV_KINDS), help="What a CSV holds (else its name says).")
@click.option("--team", help="The team (its short name) of the rows that name none.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Else the file's name says.")
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change.")
@click.option(
    "--template",
    "template_of",
    type=click.Choice(CSV_KINDS),
    help="Print the header row of a CSV of this kind, to fill in, and stop.",
)
@as_operator
def import_command(
    ctx: Context,
    file: Path | None,
    kind: str | None,
    team: str | None,
    fmt: str | None,
    dry_run: bool,
    template_of: str | None,
) -> str | None:
    """Import FILE whole or not at all: if any row cannot be imported, nothing is, and
    every problem is listed with its row and field."""
    if template_of is not None:
        if file is not None:
            raise click.UsageError("give a FILE to import or --template KIND, not both")
        click.echo(template(kind_named(template_of)).rstrip("\r\n"))
        return None
    if file is None:
        raise click.UsageError("give the FILE to import (or --template KIND)")
    with file.open("rb") as source:
        upload = imports.open_import(source, fmt=fmt, kind=kind, name=file.name)
        with progress(upload.total, "Importing", at_terminal_only=True) as bar:
            outcome = imports.plan_import(ctx, upload, team=team, dry_run=dry_run, progress=bar)
    for notice in outcome.notices:
        click.echo(f"note: {notice}", err=True)
    if not outcome.ok:
        _refused(ctx, outcome)
    for name, counts in outcome.per_kind():
        click.echo(f"{name}: {_counted(counts)}")
    if dry_run:
        for change in outcome.changes:
            if change.outcome != UNCHANGED:
                fields = f" ({', '.join(change.fields)})" if change.fields else ""
                click.echo(f"{change.place}: would be {change.outcome} {change.record}{fields}")
        if outcome.more_changes:
            click.echo(f"… and {outcome.more_changes} more rows")
        return "checked: every row can be imported; nothing was changed (dry run)"
    written = sum(c.created + c.updated for _name, c in outcome.per_kind())
    return f"imported {file.name}: {written} records created or updated"


def _refused(ctx: Context, outcome: imports.ImportOutcome) -> None:
    for error in outcome.errors:
        click.echo(str(error), err=True)
    if outcome.more_errors:
        click.echo(f"… and {outcome.more_errors} more problems", err=True)
    ctx.session.commit()  # what was decrypted to compare, and links refused, stay in the log
    click.echo("nothing was imported", err=True)
    raise click.exceptions.Exit(1)


def _counted(counts: imports.KindCounts) -> str:
    parts = [f"{value} {name}" for name, value in counts.as_dict().items()]
    return ", ".join(parts) or "nothing"
