"""Writing a backup: one snapshot, dumped table by table, with the files its rows name.

Rows go out in foreign-key order, by primary key, as JSON lines in members of a few
megabytes each, so memory stays bounded whatever the size of a table. Evidence files
are copied as stored (already encrypted under their records' data keys) and hashed on
the way. The audit rows are hashed into their Merkle tree as they pass, compared with
the head the snapshot recorded, and the tree is signed: the checkpoint travels in the
manifest, which is the last member.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, func, select

from incidents import migrate
from incidents.audit import merkle
from incidents.audit.signing import Signer, sign_checkpoint
from incidents.crypto.keys import KeyProvider
from incidents.crypto.stream import DEFAULT_CHUNK_BYTES, Writable
from incidents.services.backup.archive import BackupError, encrypting_writer
from incidents.services.backup.manifest import (
    AUDIT_TABLE,
    EVIDENCE_PREFIX,
    HEADER_MEMBER,
    MANIFEST_MEMBER,
    TABLE_PREFIX,
    AuditTally,
    ContentHeader,
    Manifest,
)
from incidents.services.backup.snapshot import database_snapshot
from incidents.services.backup.tables import SEEDED, TableLayout, current_layouts, encode_row
from incidents.storage.store import EvidenceStore, StoredFileMissing, stored_size

Advance = Callable[[int], None]
ProgressBar = Callable[[int], AbstractContextManager[Advance | None]]
MEMBER_BYTES = 4 * 1024 * 1024  # a table's rows are cut into members of about this size
ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class BackupSources:
    """What a backup reads: the database, the evidence store, and the keys it needs."""

    engine: Engine
    store: EvidenceStore
    keys: KeyProvider
    signer: Signer
    origin: str  # the audit log's origin, as its checkpoints name it
    scratch: Path  # the instance folder: where SQLite's snapshot copy is made


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


class _HashingReader:
    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.digest.update(data)
        return data


class _Dump:
    """One archive being written from one snapshot."""

    def __init__(self, tar: tarfile.TarFile, connection: Connection, advance: Advance | None):
        self.tar = tar
        self.connection = connection
        self.advance = advance
        self.tally = AuditTally()
        self.storage_keys: list[str] = []
        self.seeded_head: tuple[int, bytes] | None = None

    def table(self, layout: TableLayout) -> dict[str, Any]:
        table = layout.table(MetaData())
        statement = select(table).order_by(*(table.c[name] for name in layout.primary_key))
        result = self.connection.execution_options(
            stream_results=True, yield_per=ROWS_PER_FETCH
        ).execute(statement)
        digest = hashlib.sha256()
        buffer = bytearray()
        rows = parts = 0
        for row in result:
            buffer += encode_row(layout, row)
            rows += 1
            self._look_at(layout.name, dict(row._mapping))
            if len(buffer) >= MEMBER_BYTES:
                parts = self._flush(layout.name, parts, buffer, digest)
            if self.advance is not None:
                self.advance(1)
        if buffer:
            self._flush(layout.name, parts, buffer, digest)
        return {"rows": rows, "sha256": digest.hexdigest()}

    def _flush(self, name: str, parts: int, buffer: bytearray, digest: Any) -> int:
        data = bytes(buffer)
        digest.update(data)
        _add_member(self.tar, f"{TABLE_PREFIX}{name}/{parts:06d}.jsonl", data)
        buffer.clear()
        return parts + 1

    def _look_at(self, table: str, values: Mapping[str, Any]) -> None:
        if table == AUDIT_TABLE:
            self.tally.add(dict(values))
        elif table == "evidence" and values["storage_key"] is not None:
            self.storage_keys.append(str(values["storage_key"]))
        elif table == SEEDED:
            self.seeded_head = (int(values["size"]), bytes(values["root"]))

    def evidence(self, store: EvidenceStore) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = {}
        for key in self.storage_keys:
            try:
                handle = store.open_read(key)
            except StoredFileMissing:
                raise BackupError(
                    f"evidence file {key[:12]}… named by the snapshot is missing from the "
                    "evidence store (erased meanwhile?); run the backup again"
                ) from None
            with handle:
                info = tarfile.TarInfo(f"{EVIDENCE_PREFIX}{key}")
                info.size = stored_size(handle)
                info.mode = 0o600
                reader = _HashingReader(handle)
                self.tar.addfile(info, reader)
            files[key] = {"size": info.size, "sha256": reader.digest.hexdigest()}
            if self.advance is not None:
                self.advance(1)
        return files

    def check_audit_head(self) -> None:
        head = self.seeded_head or (0, merkle.EMPTY_ROOT)
        if head != (self.tally.size, self.tally.root):
            raise BackupError(
                f"the audit log's {self.tally.size} events do not hash to the tree head the "
                "database recorded; run `incidents audit verify` before backing up"
            )


def _revision(connection: Connection, engine: Engine) -> str:
    current = MigrationContext.configure(connection).get_current_revision()
    head = migrate.head_revision(engine)
    if current is None or current != head:
        raise BackupError(
            f"the database is at schema revision {current or 'none'}, not this version's "
            f"{head}: run `incidents db upgrade` first"
        )
    return current


def _count_items(connection: Connection, layouts: list[TableLayout]) -> int:
    total = 0
    for layout in layouts:
        table = layout.table(MetaData())
        total += connection.scalar(select(func.count()).select_from(table)) or 0
    evidence = layout_named(layouts, "evidence").table(MetaData())
    total += (
        connection.scalar(
            select(func.count()).select_from(evidence).where(evidence.c.storage_key.is_not(None))
        )
        or 0
    )
    return total


def layout_named(layouts: list[TableLayout], name: str) -> TableLayout:
    return next(layout for layout in layouts if layout.name == name)


def write_backup(
    sources: BackupSources,
    target: Writable,
    bar: ProgressBar,
    chunk_size: int = DEFAULT_CHUNK_BYTES,
) -> Manifest:
    """Write one encrypted archive of a snapshot of the database and its evidence files."""
    layouts = current_layouts()
    with database_snapshot(sources.engine, sources.scratch) as connection:
        revision = _revision(connection, sources.engine)
        created_at = datetime.now(UTC).replace(microsecond=0)
        kind = sources.engine.dialect.name
        manifest = Manifest(created_at, kind, revision)
        writer = encrypting_writer(target, sources.keys, chunk_size)
        with (
            bar(_count_items(connection, layouts)) as advance,
            contextlib.closing(
                tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT)  # type: ignore[call-overload]
            ) as tar,
        ):
            _add_member(
                tar, HEADER_MEMBER, ContentHeader(created_at, kind, revision, layouts).encode()
            )
            dump = _Dump(tar, connection, advance)
            for layout in layouts:
                manifest.tables[layout.name] = dump.table(layout)
            dump.check_audit_head()
            manifest.evidence = dump.evidence(sources.store)
            manifest.checkpoint = sign_checkpoint(
                sources.signer, sources.origin, dump.tally.size, dump.tally.root
            )
            manifest.verifier_key = sources.signer.verifier.vkey
            _add_member(tar, MANIFEST_MEMBER, manifest.encode())
        writer.finish()
    return manifest
