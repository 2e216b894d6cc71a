"""`incidents erase` and `incidents export`: case records at the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from incidents.cli.boundary import as_operator
from incidents.cli.output import progress, whole_file
from incidents.context import Context
from incidents.models.vocabularies import ErasureReason
from incidents.records.kinds import KINDS
from incidents.redaction import Profile
from incidents.services import erasure
from incidents.services.export import (
    CLI_PROFILES,
    FORMATS,
    SummaryPlan,
    start_export,
    start_summary_export,
    write_export,
    write_summary_export,
)
from incidents.services.summaries import SUMMARY_PROFILES


@click.command("erase")
@click.argument("reference")
@click.option(
    "--reason",
    type=click.Choice([reason.value for reason in ErasureReason]),
    required=True,
    help="Why, as a code (kept in the tombstone and the audit log).",
)
@click.option(
    "--note",
    default="",
    help="Why, in your words (required with --reason other): sealed in the tombstone for "
    "the team's researchers, never in the audit log; identify no one.",
)
@as_operator
def erase_command(ctx: Context, reference: str, reason: str, note: str) -> str:
    """Crypto-shred the record REFERENCE (INC-, RPT-, SRC-, PER-): its data key goes."""
    outcome = erasure.erase_record(ctx, reference, reason, note)
    return (
        f"erased {reference} ({outcome.records_shredded} records shredded); "
        "a tombstone and an audit event remain"
    )


@click.command("export")
@click.option(
    "--profile",
    type=click.Choice([p.value for p in CLI_PROFILES]),
    required=True,
    help="full: every field decrypted; internal: public and restricted fields only; "
    "partner, public: redacted case summaries of the cases whose reports may be shared "
    "with named partners, or published without names.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json: one document; csv: one file per kind of record (a ZIP, or one CSV with "
    "--kind), or one row per case for partner and public.",
)
@click.option(
    "--kind",
    type=click.Choice([k.name for k in KINDS]),
    default=None,
    help="Export only the records of this kind (full and internal).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@as_operator
def export_command(
    ctx: Context, profile: str, fmt: str, kind: str | None, output: Path | None
) -> None:
    """Export case records with the fields a redaction profile allows.

    A file is written owner-only (mode 0600): a full export holds every secret decrypted.
    """
    chosen = Profile(profile)
    if chosen in SUMMARY_PROFILES:
        if kind is not None:
            raise click.UsageError("--kind is for records (full, internal), not for summaries")
        _export_summaries(ctx, chosen, fmt, output)
        return
    if fmt == "csv" and kind is None and (output is None or output.suffix.lower() != ".zip"):
        raise click.UsageError(
            "a CSV export of every kind is a ZIP of one CSV per kind: give -o FILE.zip, "
            "or --kind KIND for one CSV"
        )
    plan = start_export(ctx, chosen, fmt=fmt, kind=kind)
    ctx.session.commit()  # the export is in the audit log before its first byte is written
    # The bar goes to stderr, so an export on stdout stays clean.
    with progress(plan.records, "Exporting") as bar:
        if output is None:
            counts = write_export(ctx, plan, sys.stdout, bar)
        else:
            with (
                whole_file(output, 0o600) as descriptor,
                os.fdopen(descriptor, "wb") as target,
            ):
                counts = write_export(ctx, plan, target, bar)
    click.echo(f"exported {sum(counts.values())} records ({profile})", err=True)


def _export_summaries(ctx: Context, profile: Profile, fmt: str, output: Path | None) -> None:
    """The redacted summaries of every shareable case, all teams: one JSON document, or
    one CSV row a case."""
    plan: SummaryPlan = start_summary_export(ctx, profile, fmt=fmt)
    ctx.session.commit()  # the export is in the audit log before its first byte is written
    with progress(len(plan.cases), "Exporting summaries") as bar:
        if output is None:
            written = write_summary_export(ctx, plan, sys.stdout, bar)
        else:
            with (
                whole_file(output, 0o600) as descriptor,
                os.fdopen(descriptor, "wb") as target,
            ):
                written = write_summary_export(ctx, plan, target, bar)
    click.echo(
        f"exported {written} case summaries ({profile.value}): {plan.reports} reports counted, "
        f"{plan.withheld} not counted for lack of consent",
        err=True,
    )
