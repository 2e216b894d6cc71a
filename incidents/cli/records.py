"""`incidents erase` and `incidents export`: case records at the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from incidents.cli.boundary import as_operator
from incidents.cli.output import progress, whole_file
from incidents.context import Context
from incidents.redaction import Profile
from incidents.services import erasure
from incidents.services.export import CLI_PROFILES, start_export, write_export


@click.command("erase")
@click.argument("reference")
@click.option("--reason", required=True, help="Why (kept in the tombstone; identify no one).")
@as_operator
def erase_command(ctx: Context, reference: str, reason: str) -> str:
    """Crypto-shred the record REFERENCE (INC-, RPT-, SRC-, PER-): its data key goes."""
    outcome = erasure.erase_record(ctx, reference, reason)
    return (
        f"erased {reference} ({outcome.records_shredded} records shredded); "
        "a tombstone and an audit event remain"
    )


@click.command("export")
@click.option(
    "--profile",
    type=click.Choice([p.value for p in CLI_PROFILES]),
    required=True,
    help="full: every field decrypted; internal: public and restricted fields only.",
)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@as_operator
def export_command(ctx: Context, profile: str, fmt: str, output: Path | None) -> None:
    """Export case records with the fields a redaction profile allows.

    A file is written owner-only (mode 0600): a full export holds every secret decrypted.
    """
    plan = start_export(ctx, Profile(profile))
    ctx.session.commit()  # the export is in the audit log before its first byte is written
    # The bar goes to stderr, so a JSON export on stdout stays clean.
    with progress(plan.records, "Exporting") as bar:
        if output is None:
            counts = write_export(ctx, plan, sys.stdout, bar)
        else:
            with (
                whole_file(output, 0o600) as descriptor,
                os.fdopen(descriptor, "w", encoding="utf-8") as target,
            ):
                counts = write_export(ctx, plan, target, bar)
    click.echo(f"exported {sum(counts.values())} records ({profile})", err=True)
