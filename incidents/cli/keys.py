"""`incidents keys …`: master keys, re-wrapping data keys, rebuilding blind indexes."""

from __future__ import annotations

from pathlib import Path

import click

from incidents.cli.boundary import as_operator, commit_each_batch
from incidents.cli.output import progress
from incidents.context import Context
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.extensions import use_key_provider
from incidents.services import blind_indexing, keys


@click.group("keys")
def keys_group() -> None:
    """Master keys and data keys."""


@keys_group.command("generate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keys_generate(path: Path) -> None:
    """Write a new key file with one production master key to PATH (mode 0600)."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key file")
    key = generate_master_key()
    write_key_file(path, [key], key.key_id)
    click.echo(f"wrote master key {key.key_id} to {path}; set INCIDENTS_MASTER_KEY_FILE={path}")


@keys_group.command("status")
@as_operator
def keys_status(ctx: Context) -> None:
    """Show the master keys held and how many data keys each wraps."""
    for row in keys.key_status(ctx):
        click.echo(
            f"{row.key_id}\t{row.state}\t{row.data_keys} data keys\t"
            f"{row.blind_index_entries} blind-index entries"
        )
    pending = keys.pending_rewraps(ctx)
    if pending:
        click.echo(
            f"{pending} data keys are not wrapped by the primary: run `incidents keys rotate`"
        )


def _add_primary_key(ctx: Context) -> Context:
    """Add a primary master key and carry on with the updated keys. The key file is
    written at once, so its audit event is committed just before it is."""
    # The event commits before the key file is written: no key in use goes unlogged.
    _key, updated = keys.add_primary_key(ctx, before_writing=ctx.session.commit)
    use_key_provider(updated)
    return ctx.with_keys(updated)


@keys_group.command("add")
@as_operator
def keys_add(ctx: Context) -> str:
    """Add a new master key to the key file and make it the primary for new writes."""
    key_id = _add_primary_key(ctx).keys.primary().key_id
    return f"added master key {key_id} as primary; now run `incidents keys rotate`"


@keys_group.command("rotate")
@click.option(
    "--new-key/--no-new-key",
    default=True,
    show_default=True,
    help="Add a new primary key first (--no-new-key resumes a rotation).",
)
@click.option(
    "--batch-size",
    default=keys.DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Data keys re-wrapped per transaction.",
)
@as_operator
def keys_rotate(ctx: Context, new_key: bool, batch_size: int) -> str:
    """Re-wrap every data key under the primary master key, in batches.

    Resumable and idempotent: if it stops half-way, run `incidents keys rotate
    --no-new-key` and it carries on; nothing is lost. Data is not re-encrypted.
    """
    if new_key and keys.pending_rewraps(ctx) == 0:
        ctx = _add_primary_key(ctx)
        click.echo(f"added master key {ctx.keys.primary().key_id} as primary", err=True)
    total = keys.pending_rewraps(ctx)
    with progress(total, "Re-wrapping data keys") as bar:
        done = keys.rewrap_all(ctx, batch_size, commit_each_batch(ctx, bar))
    return f"re-wrapped {done} data keys under {ctx.keys.primary().key_id}"


@keys_group.command("retire")
@click.argument("key_id")
@as_operator
def keys_retire(ctx: Context, key_id: str) -> str:
    """Remove master key KEY_ID from the key file; refused while anything still uses it."""
    updated = keys.retire_key(ctx, key_id)
    ctx.session.commit()  # the key file no longer holds the key: record it now
    use_key_provider(updated)
    return f"retired master key {key_id}; it can no longer decrypt anything here"


@keys_group.command("reindex")
@click.option(
    "--batch-size",
    default=blind_indexing.REINDEX_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Records reindexed per transaction.",
)
@as_operator
def keys_reindex(ctx: Context, batch_size: int) -> str:
    """Rebuild every blind-index entry under the primary master key, in batches.

    Run it after `incidents keys rotate` (so that the old key can be retired) and after
    changing blind_index_bytes. Each batch is committed; running it again is safe.
    """
    with progress(blind_indexing.count_indexed_records(ctx), "Reindexing") as bar:
        outcome = blind_indexing.reindex_all(
            ctx, commit_each_batch(ctx, bar), batch_size=batch_size
        )
    tables = ", ".join(f"{count} {table}" for table, count in outcome.records.items())
    return (
        f"reindexed {outcome.total} records ({tables}): {outcome.entries} blind-index "
        f"entries under {outcome.master_key_id}, {ctx.settings.blind_index_bytes} bytes each"
    )
