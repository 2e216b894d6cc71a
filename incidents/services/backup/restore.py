"""Restoring an archive into an empty installation, all at once or not at all.

The schema comes from the project's own migrations at the archive's revision; the rows
go in, parents first, in one transaction; the evidence files are written through the
store (each under a temporary name, then renamed) before it commits. Only when the
whole archive has authenticated and matched its manifest, and the restored audit log
recomputes to the archive's signed checkpoint, is the loaded archive handed to the
caller, whose commit makes the restore; then the schema is migrated on to this
version's head. Anything short of that rolls back and removes the files written: the
installation is as empty as before, and the restore can simply be run again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, MetaData, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from incidents import migrate
from incidents.audit.sequencer import integrate_restored
from incidents.audit.signing import Verifier
from incidents.audit.verify import (
    HeldCheckpoint,
    head_as_checkpoint,
    recorded_head,
    stream_rows,
    verify_rows,
)
from incidents.crypto.keys import KeyProvider
from incidents.services.backup.archive import BackupError
from incidents.services.backup.manifest import ContentHeader, Manifest
from incidents.services.backup.reader import read_archive
from incidents.services.backup.tables import NOT_DATA, SEEDED, TableLayout
from incidents.storage.database_store import DatabaseEvidenceStore
from incidents.storage.store import TEMPORARY_SUFFIX, DirectoryEvidenceStore, EvidenceStore


@dataclass(frozen=True)
class RestoreTarget:
    engine: Engine
    store: EvidenceStore
    keys: KeyProvider
    verifier: Verifier
    origin: str


@dataclass
class RestoreOutcome:
    manifest: Manifest
    revision: str = ""
    upgraded_to: str | None = None
    leftover_files: int = 0


def check_empty(engine: Engine) -> None:
    """Refuse a database holding anything but an empty schema (what migrations seed)."""
    names = set(inspect(engine).get_table_names()) - NOT_DATA
    if not names:
        return
    filled: list[str] = []
    with engine.connect() as connection:
        for name in sorted(names):
            table = TableLayout(name, (), ()).table(MetaData())
            count = connection.scalar(select(func.count()).select_from(table)) or 0
            if name == SEEDED:
                size = connection.scalar(text("SELECT max(size) FROM audit_tree_state"))
                count = int(bool(size))
            if count:
                filled.append(name)
    if filled:
        raise BackupError(
            f"the target database is not empty (it holds rows in {len(filled)} tables, e.g. "
            f"{filled[0]}); restore into a new, empty database"
        )


def _order(script: ScriptDirectory) -> list[str]:
    """Every revision from base to head (the history is one line)."""
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _migrate_to(engine: Engine, revision: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    order = _order(script)
    if revision not in order:
        raise BackupError(
            f"the archive's schema revision {revision} is unknown to this version of "
            "Incidents (made by a newer one?): upgrade Incidents first"
        )
    current = migrate.current_revision(engine)
    if current is not None and order.index(current) > order.index(revision):
        migrate.downgrade(engine, revision)  # an empty schema: nothing to lose
    else:
        migrate.upgrade(engine, revision)


class _Loader:
    """Puts what the archive holds into one open transaction and the evidence store."""

    def __init__(self, target: RestoreTarget) -> None:
        self.target = target
        self.connection: Connection | None = None
        self.written: list[str] = []
        self.seeded: list[dict[str, Any]] = []
        self.leftovers = 0
        self.revision = ""
        self.tables: list[TableLayout] = []

    def begin(self, header: ContentHeader) -> None:
        _migrate_to(self.target.engine, header.revision)
        store = self.target.store
        if isinstance(store, DatabaseEvidenceStore) and not store.installed():
            raise BackupError(
                f"the archive's schema (revision {header.revision}) predates evidence kept in "
                'the database: restore it with evidence_store = "directory", then run '
                "`incidents evidence move --to database`"
            )
        self.revision = header.revision
        self.tables = header.tables
        self.connection = self.target.engine.connect()
        self.connection.begin()

    def rows(self, layout: TableLayout, rows: list[dict[str, Any]]) -> None:
        assert self.connection is not None
        if layout.name == SEEDED:
            self.seeded.extend(rows)
        elif rows:
            self.connection.execute(insert(layout.table(MetaData())), rows)

    def evidence(self, key: str, size: int, chunks: Iterator[bytes]) -> None:
        store = self.target.store
        if store.exists(key):  # the database is empty: a file left by an interrupted restore
            store.delete(key)
            self.leftovers += 1
        with store.open_write(key) as writer:
            for chunk in chunks:
                writer.write(chunk)
        self.written.append(key)

    def finish(self) -> None:
        """Move the seeded audit head to the archive's, check the log, reset sequences."""
        assert self.connection is not None
        for row in self.seeded:
            if row["size"]:  # the head only grows, and only over events that exist
                table = next(t for t in self.tables if t.name == SEEDED).table(MetaData())
                self.connection.execute(update(table).where(table.c.id == row["id"]).values(row))
        _reset_sequences(self.connection, self.tables)
        # Events the snapshot held queued (rows of audit_queue) join the tree now, so that
        # the check below covers them too.
        integrate_restored(self.connection)

    def check_audit(self, held: HeldCheckpoint) -> None:
        assert self.connection is not None
        head = head_as_checkpoint(recorded_head(self.connection))
        result = verify_rows(stream_rows(self.connection), [held, head])
        if not result.ok:
            raise BackupError(f"the restored audit log fails verification: {result.problem}")

    def abandon(self) -> None:
        if self.connection is not None:
            self.connection.rollback()
            self.connection.close()
        for key in self.written:
            self.target.store.delete(key)


def _reset_sequences(connection: Connection, tables: list[TableLayout]) -> None:
    """Move each PostgreSQL sequence past the largest value restored into its column."""
    if connection.dialect.name != "postgresql":
        return
    for layout in tables:
        for column, tag in layout.columns:
            if tag != "int":
                continue
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": layout.name, "column": column},
            )
            if sequence is not None:
                table = layout.table(MetaData())
                following = func.coalesce(func.max(table.c[column]), 0) + 1
                connection.execute(select(func.setval(sequence, following, False)))


def _clear_leftovers(store: EvidenceStore) -> int:
    """Remove what an interrupted restore left in the store of an empty installation:
    temporaries it was writing; return how many complete files are there besides."""
    if isinstance(store, DirectoryEvidenceStore):
        for partial in store.root.glob(f"*/*{TEMPORARY_SUFFIX}"):
            partial.unlink(missing_ok=True)
    elif isinstance(store, DatabaseEvidenceStore) and store.installed():  # its pending rows
        for entry in list(store.entries()):
            if entry.temporary:
                store.remove_entry(entry)
    else:
        return 0
    return sum(1 for _key in store.keys())  # noqa: SIM118 (the store's listing, not a dict)


@dataclass
class LoadedArchive:
    """An archive loaded and checked, its rows in a transaction the caller commits.

    Committing `connection` makes the restore; `abandon()` undoes it (rolls back and
    removes the evidence files written). Either way, `finish` comes next.
    """

    connection: Connection
    outcome: RestoreOutcome
    _loader: _Loader

    def abandon(self) -> None:
        self._loader.abandon()


def load_archive(source: BinaryIO, target: RestoreTarget, what: str) -> LoadedArchive:
    """Load the archive `source` into the empty installation `target`, uncommitted."""
    check_empty(target.engine)
    leftover_before = _clear_leftovers(target.store)
    loader = _Loader(target)
    try:
        outcome = read_archive(source, target.keys, target.verifier, target.origin, loader, what)
        loader.finish()
        loader.check_audit(HeldCheckpoint(outcome.checkpoint, "the archive's signed checkpoint"))
    except DBAPIError as exc:
        loader.abandon()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise BackupError(f"{what}: the database refused a restored row: {reason}") from None
    except CommandError as exc:
        loader.abandon()
        raise BackupError(f"the schema could not be migrated: {exc}") from None
    except BaseException:
        loader.abandon()
        raise
    assert loader.connection is not None
    result = RestoreOutcome(outcome.manifest, loader.revision)
    result.leftover_files = max(0, leftover_before - loader.leftovers)
    return LoadedArchive(loader.connection, result, loader)


def finish(loaded: LoadedArchive, target: RestoreTarget) -> RestoreOutcome:
    """Once the load is committed: the schema migrated on to this version's head."""
    loaded.connection.close()
    outcome = loaded.outcome
    if migrate.current_revision(target.engine) != migrate.head_revision(target.engine):
        migrate.upgrade(target.engine)
        outcome.upgraded_to = migrate.head_revision(target.engine)
    return outcome
