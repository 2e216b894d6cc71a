"""`incidents audit …`: verify the log, sign checkpoints, prove events, check proofs.

`check-proof` needs no installation at all: an auditor runs it with the verifier key alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from incidents.audit.proofs import check_proof
from incidents.audit.signing import Verifier, generate_signer, parse_vkey, write_signing_key
from incidents.cli.boundary import as_operator
from incidents.cli.output import STDOUT, new_text_file, progress, read_text, write_new
from incidents.context import Context
from incidents.errors import AuditLogBroken, ValidationError
from incidents.extensions import audit_signer
from incidents.services import audit_log
from incidents.settings import load_settings


def _progress(ctx: Context, label: str) -> Any:
    """A bar as long as the log, at a terminal only."""
    return progress(audit_log.log_size(ctx), label, at_terminal_only=True)


def _verifier(vkey: str | None) -> Verifier:
    return parse_vkey(vkey) if vkey else audit_signer().verifier


@click.group("audit")
def audit_group() -> None:
    """The audit log: verify it, sign checkpoints, prove events."""


@audit_group.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Key name (default: the setting audit_log_origin).")
def audit_keygen(path: Path, name: str | None) -> None:
    """Write a new Ed25519 checkpoint signing key to PATH (mode 0600)."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key file")
    try:
        signer = generate_signer(name or load_settings().audit_log_origin)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    write_signing_key(path, signer)
    click.echo(f"wrote audit signing key {signer.name} to {path}")
    click.echo(f"set INCIDENTS_AUDIT_SIGNING_KEY_FILE={path}; give auditors the verifier key:")
    click.echo(signer.verifier.vkey)


@audit_group.command("public-key")
@as_operator
def audit_public_key(_ctx: Context) -> None:
    """Print the verifier key that checks this installation's checkpoints."""
    click.echo(audit_signer().verifier.vkey)


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint held since: the log must still extend it.",
)
@click.option("--key", "vkey", help="Verifier key to check signatures with (default: ours).")
@as_operator
def audit_verify(ctx: Context, checkpoint_file: Path | None, vkey: str | None) -> None:
    """Recompute the log's Merkle tree; exit 1 naming the first event that does not fit."""
    note = read_text(checkpoint_file)
    verifier = _verifier(vkey)
    with _progress(ctx, "Verifying") as bar:
        outcome = audit_log.verify_log(ctx, verifier, note, bar)
    for skipped in outcome.skipped:
        click.echo(f"note: {skipped}", err=True)
    if not outcome.ok:
        raise AuditLogBroken(f"the audit log fails verification: {outcome.problem}")
    click.echo(f"ok: {outcome.summary()}")


@audit_group.command("checkpoint")
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write the signed checkpoint to ('-' for stdout); never overwritten.",
)
@as_operator
def audit_checkpoint(ctx: Context, output: str) -> None:
    """Verify the log, then write a signed checkpoint of it (C2SP tlog-checkpoint)."""
    with new_text_file(output) as target:  # an existing file is refused before anything
        with _progress(ctx, "Verifying") as bar:
            note, outcome = audit_log.take_checkpoint(ctx, audit_signer(), bar)
        ctx.session.commit()  # the checkpoint is the log's next event before it is handed out
        target.write(note)
    where = "stdout" if output == STDOUT else output
    click.echo(
        f"checkpoint of {outcome.size} events written to {where}; "
        f"root {audit_log.b64(outcome.root)}",
        err=True,
    )


@audit_group.command("prove")
@click.argument("event", type=click.IntRange(min=1))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Prove against this held checkpoint (default: a new one of today's log).",
)
@click.option("-o", "--output", default=STDOUT, show_default=True, help="Where to write it.")
@as_operator
def audit_prove(ctx: Context, event: int, checkpoint_file: Path | None, output: str) -> None:
    """Print an inclusion proof of audit event EVENT (its position) with a signed checkpoint."""
    note = read_text(checkpoint_file)
    with _progress(ctx, "Verifying") as bar:
        document = audit_log.prove_inclusion(ctx, audit_signer(), event, note, bar)
    write_new(output, _json(document))


@audit_group.command("consistency")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The held checkpoint today's log must extend.",
)
@click.option("-o", "--output", default=STDOUT, show_default=True, help="Where to write it.")
@as_operator
def audit_consistency(ctx: Context, checkpoint_file: Path, output: str) -> None:
    """Print a consistency proof from a held checkpoint to a new signed one."""
    note = read_text(checkpoint_file) or ""
    with _progress(ctx, "Verifying") as bar:
        document = audit_log.prove_consistency(ctx, audit_signer(), note, bar)
    write_new(output, _json(document))


@audit_group.command("check-proof")
@click.argument("proof", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "vkey", required=True, help="The log's verifier key (name+id+base64).")
@click.option("--origin", default=None, help="The log's origin (default: the key's name).")
def audit_check_proof(proof: Path, vkey: str, origin: str | None) -> None:
    """Check a proof from `prove` or `consistency` with the verifier key alone."""
    click.echo(f"ok: {check_proof(read_text(proof) or '', parse_vkey(vkey), origin)}")


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
