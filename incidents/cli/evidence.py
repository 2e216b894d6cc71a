"""`incidents evidence …`: files encrypted into the evidence store, checked on the way out."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from incidents.cli.boundary import as_operator, operator_unit
from incidents.cli.output import byte_progress, progress, whole_file
from incidents.context import Context
from incidents.extensions import db
from incidents.services.evidence import download, intake, move, sweep
from incidents.services.evidence.policy import EvidenceTooLarge, human_size
from incidents.storage.choice import DATABASE, DIRECTORY, STORE_KINDS, evidence_store_for


@click.group("evidence")
def evidence_group() -> None:
    """Evidence files: encrypted into the evidence store, checked on the way out."""


@evidence_group.command("add")
@click.argument("report_ref")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default=None, help="What the file shows (stored encrypted).")
@as_operator
def evidence_add(ctx: Context, report_ref: str, path: Path, description: str | None) -> str:
    """Add the file PATH as evidence to the report REPORT_REF (e.g. RPT-2017-0003)."""
    report = intake.find_report(ctx, report_ref)
    try:
        size = path.stat().st_size
        source = path.open("rb")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    if size > ctx.settings.evidence_max_bytes:
        source.close()
        raise EvidenceTooLarge.over(ctx.settings.evidence_max_bytes)
    with source, byte_progress(size, "Encrypting") as bar:
        evidence = intake.add_evidence(ctx, report, source, path.name, description, progress=bar)
    return (
        f"added evidence {evidence.id} to {report.reference}: {evidence.media_type}, "
        f"{human_size(evidence.size_bytes)}, sha256 {evidence.sha256}"
    )


@evidence_group.command("get")
@click.argument("evidence_id", type=click.UUID)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the decrypted file (mode 0600); it must not exist.",
)
@as_operator
def evidence_get(ctx: Context, evidence_id: uuid.UUID, output: Path) -> None:
    """Decrypt the evidence EVIDENCE_ID into OUTPUT once its SHA-256 matches the record."""
    if output.exists():
        raise click.ClickException(f"{output} exists; refusing to overwrite it")
    details, content = download.open_evidence(ctx, evidence_id)
    ctx.session.commit()  # the custody and decryption events, before a byte is written
    # Only a file whose hash matched gets its name; a failed check leaves no output file.
    with (
        whole_file(output, 0o600) as descriptor,
        os.fdopen(descriptor, "wb") as target,
        contextlib.closing(content),
        byte_progress(details.size_bytes, "Decrypting") as bar,
    ):
        for chunk in content:
            target.write(chunk)
            if bar is not None:
                bar(len(chunk))
    click.echo(
        f"wrote {output}: {details.media_type}, "
        f"{human_size(details.size_bytes)}, sha256 {details.sha256} verified"
    )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType[timedelta, Any]):
    """A length of time: a number and s, m, h or d ("90m", "1h", "0s")."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"(\d{1,7})([smhd])", str(value).strip())
        if match is None:
            self.fail(f"{value!r} is not a duration like 30m, 1h or 2d", param, ctx)
        return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@evidence_group.command("sweep")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--older-than",
    type=Duration(),
    default="1h",
    show_default=True,
    help="Only files last written longer ago than this (an upload in progress is younger).",
)
@as_operator
def evidence_sweep(ctx: Context, dry_run: bool, older_than: timedelta) -> str:
    """Remove stored files no evidence row names, and unfinished `.partial` temporaries.

    A process killed during an upload or an erasure can leave them; nothing reads them.
    """
    outcome = sweep.sweep_store(ctx, older_than=older_than, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for entry in outcome.orphans:
        click.echo(f"{verb} {entry.key}: no evidence names it")
    for entry in outcome.temporaries:
        click.echo(f"{verb} {entry.name}: an unfinished write")
    count = f"{len(outcome.orphans)} unnamed files and {len(outcome.temporaries)} temporaries"
    return f"{verb} {count}" + (" (dry run)" if dry_run else "")


@evidence_group.command("move")
@click.option(
    "--to", "to", type=click.Choice(STORE_KINDS), required=True, help="The store to move to."
)
@click.option(
    "--delete-source",
    is_flag=True,
    help="Then remove each old copy once its new one checks out (the setting must name --to).",
)
@with_appcontext
def evidence_move(to: str, delete_source: bool) -> None:
    """Copy every stored evidence file to the other store, each checked by its SHA-256.

    Run it again after an interruption: what is already there is not copied twice. Then
    set evidence_store to the new store, restart, and run it with --delete-source.
    """
    source_kind = DIRECTORY if to == DATABASE else DATABASE
    with operator_unit() as ctx:
        keys = move.keys_to_move(ctx, to, delete_source=delete_source)
        folder = ctx.settings.instance_dir / "evidence"
    source = evidence_store_for(source_kind, folder, db.engine)
    target = evidence_store_for(to, folder, db.engine)
    outcome = move.MoveOutcome(to)
    failure: move.MoveError | None = None
    # Outside any transaction: copying every file may take hours.
    try:
        with progress(len(keys), f"Copying to the {to} store") as bar:
            move.copy_files(source, target, keys, outcome, bar)
        if delete_source:
            with progress(len(keys), f"Removing the {source_kind} copies") as bar:
                move.delete_sources(source, target, keys, outcome, bar)
    except move.MoveError as exc:
        failure = exc
    with operator_unit() as ctx:
        move.record_move(ctx, outcome, source_kind)
    for key in outcome.missing:
        click.echo(f"warning: stored file {key} is in neither store", err=True)
    if failure is not None:
        raise click.ClickException(str(failure))
    click.echo(
        f"{outcome.in_target} of {len(keys)} files in the {to} store ({outcome.copied} "
        f"copied, {outcome.present} there already)"
        + (f"; {outcome.deleted} removed from the {source_kind} store" if delete_source else "")
    )
    if not delete_source:
        click.echo(
            f'next: set evidence_store = "{to}", restart every server, then run '
            f"`incidents evidence move --to {to} --delete-source`"
        )
