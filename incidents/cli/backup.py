"""`incidents backup -o FILE`, `incidents backup verify FILE` and `incidents restore FILE`.

The archive is written under a hidden name of its own and appears as FILE only when
whole and on disk; verify and restore read it once, checking every chunk as it comes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import click
from flask import current_app
from flask.cli import with_appcontext

from incidents.cli.boundary import operator_unit
from incidents.cli.output import durable_new_file, progress
from incidents.extensions import audit_signer, db, evidence_store, key_provider
from incidents.services.backup.archive import BackupError
from incidents.services.backup.events import record_backup_created, record_restore
from incidents.services.backup.verify import verify_archive
from incidents.settings import Settings


def _settings() -> Settings:
    settings: Settings = current_app.config["INCIDENTS_SETTINGS"]
    return settings


class _CountingReader:
    """The archive file, moving a bar by the bytes read."""

    def __init__(self, handle: BinaryIO, advance: Callable[[int], None] | None) -> None:
        self._handle = handle
        self._advance = advance

    def read(self, size: int = -1, /) -> bytes:
        data = self._handle.read(size)
        if self._advance is not None and data:
            self._advance(len(data))
        return data


@contextlib.contextmanager
def _open_archive(path: Path, label: str) -> Iterator[_CountingReader]:
    try:
        handle = path.open("rb")
        size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    with handle, progress(size, label, at_terminal_only=True) as bar:
        yield _CountingReader(handle, bar)


@click.group("backup", invoke_without_command=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write; it must not exist.",
)
@click.pass_context
def backup_group(click_ctx: click.Context, output: Path | None) -> None:
    """Write an encrypted backup of the database and evidence files (-o FILE), online.

    Keep the master key file and the audit signing key elsewhere: the archive needs them
    to be opened, and holds neither.
    """
    if click_ctx.invoked_subcommand is not None:
        if output is not None:
            raise click.UsageError("-o is for writing a backup, not for `backup verify`")
        return
    if output is None:
        raise click.UsageError("name the archive to write with -o FILE")
    click_ctx.invoke(_write, output=output)


@with_appcontext
def _write(output: Path) -> None:
    # Writing and restoring need Alembic, which no other command of `incidents` imports:
    # imported here, not at each start.
    from incidents.services.backup.create import BackupSources, write_backup

    settings = _settings()
    sources = BackupSources(
        db.engine,
        evidence_store(),
        key_provider(),
        audit_signer(),
        settings.audit_log_origin,
        settings.instance_dir,
    )

    def bar(total: int) -> contextlib.AbstractContextManager[Callable[[int], None] | None]:
        return progress(total, "Backing up", at_terminal_only=True)

    master_key_id = key_provider().primary().key_id  # the key write_backup seals under
    with durable_new_file(output) as target:
        manifest = write_backup(sources, target, bar)
        size = target.tell()
        # The archive is whole (its snapshot read, every byte written) but not yet at its
        # name: the event commits in a short unit of its own first, so no archive appears
        # unrecorded (a backup killed in between leaves only the hidden temporary). The
        # event is therefore not inside the archive it describes; the next backup holds it.
        with operator_unit() as ctx:
            record_backup_created(ctx, manifest, size, master_key_id)
    files = len(manifest.evidence)
    click.echo(
        f"wrote {output}: {manifest.total_rows()} rows in {len(manifest.tables)} tables and "
        f"{files} evidence files ({size} bytes), encrypted under a key "
        f"derived from master key {master_key_id}; check it with "
        f"`incidents backup verify {output}`"
    )


@backup_group.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_verify(archive: Path) -> None:
    """Check every chunk, count, hash and the audit checkpoint of ARCHIVE; restore nothing."""
    # A read-only check records nothing, as `audit verify` does.
    settings = _settings()
    with _open_archive(archive, "Verifying") as source:
        outcome = verify_archive(
            source,  # type: ignore[arg-type]
            key_provider(),
            audit_signer().verifier,
            settings.audit_log_origin,
            str(archive),
        )
    manifest = outcome.manifest
    click.echo(
        f"ok: {archive} of {manifest.created_at:%Y-%m-%d %H:%M UTC} ({manifest.database_kind}, "
        f"revision {manifest.revision}): {manifest.total_rows()} rows in "
        f"{len(manifest.tables)} tables and {len(manifest.evidence)} evidence files match "
        f"the manifest; {outcome.checkpoint.size} audit events match its signed checkpoint"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore ARCHIVE into this installation, which must be empty; all or nothing."""
    from incidents.services.backup import restore
    from incidents.services.backup.restore import RestoreTarget

    settings = _settings()
    target = RestoreTarget(
        db.engine,
        evidence_store(),
        key_provider(),
        audit_signer().verifier,
        settings.audit_log_origin,
    )
    with _open_archive(archive, "Restoring") as source:
        loaded = restore.load_archive(source, target, str(archive))  # type: ignore[arg-type]
    try:
        loaded.connection.commit()  # the whole archive checked out: it becomes the installation
    except BaseException:
        loaded.abandon()
        raise
    outcome = restore.finish(loaded, target)
    manifest = outcome.manifest
    # The restore committed, its log verified against the archive's checkpoint: its event
    # is the first after that checkpoint, where an auditor sees the installation restored.
    with operator_unit() as ctx:
        record_restore(ctx, manifest, outcome.upgraded_to)
    if outcome.leftover_files:
        click.echo(
            f"note: the evidence store held {outcome.leftover_files} files no restored record "
            "names; `incidents evidence sweep` removes them",
            err=True,
        )
    upgraded = f"; schema upgraded to {outcome.upgraded_to}" if outcome.upgraded_to else ""
    click.echo(
        f"restored {archive} of {manifest.created_at:%Y-%m-%d %H:%M UTC} "
        f"({manifest.database_kind}): {manifest.total_rows()} rows in {len(manifest.tables)} "
        f"tables and {len(manifest.evidence)} evidence files; the audit log verifies against "
        f"the archive's signed checkpoint{upgraded}"
    )


__all__ = ["BackupError", "backup_group", "restore_command"]
