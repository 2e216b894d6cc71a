"""`incidents evidence …`: files encrypted into the evidence store, checked on the way out."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import click

from incidents.cli.boundary import as_operator
from incidents.cli.output import byte_progress, whole_file
from incidents.context import Context
from incidents.services.evidence import download, intake
from incidents.services.evidence.policy import EvidenceTooLarge, human_size


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
