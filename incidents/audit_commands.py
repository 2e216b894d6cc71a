"""`incidents audit …`: verify the log, sign checkpoints, prove events, check proofs.

Registered on the `incidents` group by incidents/cli.py; kept apart because it is a
family of its own. Commands call services only; failures end as one line on stderr
(incidents.cli.main). `check-proof` needs no installation at all: an auditor runs it
with the verifier key alone.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from incidents.audit.log import Actor
from incidents.audit.proofs import check_proof
from incidents.audit.signing import Verifier, generate_signer, parse_vkey, write_signing_key
from incidents.errors import AuditLogBroken, ValidationError
from incidents.extensions import audit_signer, db
from incidents.services import audit as audit_service
from incidents.settings import load_settings

STDOUT = "-"


def _origin() -> str:
    origin: str = current_app.config["INCIDENTS_SETTINGS"].audit_log_origin
    return origin


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise click.ClickException(f"cannot read {path}: {reason}") from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None] | None]:
    """A bar on stderr as long as the log, so stdout stays clean for proofs; at a terminal
    only, so that a failure in a script is still one line."""
    if not sys.stderr.isatty():
        yield None
        return
    total = audit_service.log_size(db.session)
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _write(output: str, text: str) -> None:
    """Write `text` to the file `output` (refusing to overwrite one), or to stdout for '-'."""
    if output == STDOUT:
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; refusing to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


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
@with_appcontext
def audit_public_key() -> None:
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
@with_appcontext
def audit_verify(checkpoint_file: Path | None, vkey: str | None) -> None:
    """Recompute the log's Merkle tree; exit 1 naming the first event that does not fit."""
    note = _read(checkpoint_file)
    verifier = _verifier(vkey)
    with _progress("Verifying") as progress:
        outcome = audit_service.verify_log(db.session, verifier, _origin(), note, progress)
    db.session.rollback()  # verification writes nothing
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
@with_appcontext
def audit_checkpoint(output: str) -> None:
    """Verify the log, then write a signed checkpoint of it (C2SP tlog-checkpoint)."""
    with _progress("Verifying") as progress:
        note, outcome = audit_service.take_checkpoint(
            db.session, audit_signer(), _origin(), Actor.command_line(), progress
        )
    _write(output, note)
    db.session.commit()  # the checkpoint is recorded in the log as its next event
    where = "stdout" if output == STDOUT else output
    click.echo(
        f"checkpoint of {outcome.size} events written to {where}; "
        f"root {audit_service.b64(outcome.root)}",
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
@with_appcontext
def audit_prove(event: int, checkpoint_file: Path | None, output: str) -> None:
    """Print an inclusion proof of audit event EVENT (its position) with a signed checkpoint."""
    note = _read(checkpoint_file)
    with _progress("Verifying") as progress:
        document = audit_service.prove_inclusion(
            db.session, audit_signer(), _origin(), event, note, progress
        )
    db.session.rollback()
    _write(output, _json(document))


@audit_group.command("consistency")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The held checkpoint today's log must extend.",
)
@click.option("-o", "--output", default=STDOUT, show_default=True, help="Where to write it.")
@with_appcontext
def audit_consistency(checkpoint_file: Path, output: str) -> None:
    """Print a consistency proof from a held checkpoint to a new signed one."""
    note = _read(checkpoint_file) or ""
    with _progress("Verifying") as progress:
        document = audit_service.prove_consistency(
            db.session, audit_signer(), _origin(), note, progress
        )
    db.session.rollback()
    _write(output, _json(document))


@audit_group.command("check-proof")
@click.argument("proof", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "vkey", required=True, help="The log's verifier key (name+id+base64).")
def audit_check_proof(proof: Path, vkey: str) -> None:
    """Check a proof from `prove` or `consistency` with the verifier key alone."""
    click.echo(f"ok: {check_proof(_read(proof) or '', parse_vkey(vkey))}")


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
