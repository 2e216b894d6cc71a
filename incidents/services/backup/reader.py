"""Reading an archive member by member, checking it against its own manifest as it goes.

Verification and restore read an archive the same way and differ only in what they do
with each batch of rows and each evidence file (the `ArchiveVisitor`). The reader
insists on the layout the writer makes — the description first, each table's members in
order, the evidence files, the manifest last, the stream sealed after it — and counts
and hashes everything, so the comparison with the manifest at the end covers every byte.
Nothing read is whole until `finish` is called; a restore commits only then.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Protocol

from incidents.audit.signing import Checkpoint, Verifier
from incidents.crypto.keys import KeyProvider
from incidents.services.backup.archive import BackupError, DecryptingReader
from incidents.services.backup.manifest import (
    AUDIT_TABLE,
    EVIDENCE_PREFIX,
    HEADER_MEMBER,
    MANIFEST_MEMBER,
    TABLE_PREFIX,
    AuditTally,
    ContentHeader,
    Manifest,
    check_checkpoint,
)
from incidents.services.backup.tables import SEEDED, TableLayout, decode_row
from incidents.storage.store import InvalidStorageKey, check_storage_key

MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024
MAX_TABLE_MEMBER_BYTES = 256 * 1024 * 1024
FILE_CHUNK_BYTES = 1024 * 1024
_TABLE_MEMBER = re.compile(r"tables/([a-z_]+)/(\d{6})\.jsonl")


class ArchiveVisitor(Protocol):
    def begin(self, header: ContentHeader) -> None: ...

    def rows(self, layout: TableLayout, rows: list[dict[str, Any]]) -> None: ...

    def evidence(self, key: str, size: int, chunks: Iterator[bytes]) -> None:
        """Consume every chunk (an unconsumed one is never checked)."""
        ...


@dataclass
class _Seen:
    header: ContentHeader | None = None
    table_index: int = -1
    next_part: int = 0
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    digests: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage_keys: set[str] = field(default_factory=set)
    tally: AuditTally = field(default_factory=AuditTally)
    head: tuple[int, bytes] | None = None


@dataclass(frozen=True)
class ReadOutcome:
    header: ContentHeader
    manifest: Manifest
    checkpoint: Checkpoint


def read_archive(
    source: BinaryIO,
    keys: KeyProvider,
    verifier: Verifier,
    origin: str,
    visitor: ArchiveVisitor,
    what: str,
) -> ReadOutcome:
    """Read the whole archive into `visitor`; BackupError (one line) for anything amiss."""
    reader = DecryptingReader(source, keys, what)
    seen = _Seen()
    manifest: Manifest | None = None
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if manifest is not None:
                    raise BackupError(f"{what}: data follows the manifest")
                content = tar.extractfile(member) if member.isfile() else None
                if content is None:
                    raise BackupError(f"{what}: unexpected archive member {member.name!r}")
                manifest = _member(seen, member, content, visitor, what)
    except (tarfile.TarError, EOFError, UnicodeError) as exc:
        raise BackupError(f"{what}: the archive's content is damaged ({exc})") from None
    reader.drain()
    if not reader.exhausted:
        raise BackupError(f"{what}: the archive is truncated")
    if manifest is None or seen.header is None:
        raise BackupError(f"{what}: the archive has no manifest (truncated)")
    checkpoint = _compare(seen, manifest, verifier, origin, what)
    return ReadOutcome(seen.header, manifest, checkpoint)


def _read_member(content: IO[bytes], size: int, limit: int, what: str) -> bytes:
    if size > limit:
        raise BackupError(f"{what}: an archive member is impossibly large ({size} bytes)")
    return content.read()


def _member(
    seen: _Seen, member: tarfile.TarInfo, content: IO[bytes], visitor: ArchiveVisitor, what: str
) -> Manifest | None:
    name = member.name
    if seen.header is None:
        if name != HEADER_MEMBER:
            raise BackupError(f"{what}: the archive does not begin with its description")
        seen.header = ContentHeader.decode(
            _read_member(content, member.size, MAX_DESCRIPTION_BYTES, what)
        )
        visitor.begin(seen.header)
        return None
    if name == MANIFEST_MEMBER:
        return Manifest.decode(_read_member(content, member.size, MAX_DESCRIPTION_BYTES, what))
    if name.startswith(TABLE_PREFIX):
        _table_member(
            seen,
            name,
            _read_member(content, member.size, MAX_TABLE_MEMBER_BYTES, what),
            visitor,
            what,
        )
        return None
    if name.startswith(EVIDENCE_PREFIX):
        _evidence_member(seen, name[len(EVIDENCE_PREFIX) :], member.size, content, visitor, what)
        return None
    raise BackupError(f"{what}: unexpected archive member {name!r}")


def _table_member(seen: _Seen, name: str, data: bytes, visitor: ArchiveVisitor, what: str) -> None:
    assert seen.header is not None
    match = _TABLE_MEMBER.fullmatch(name)
    names = [layout.name for layout in seen.header.tables]
    if match is None or match.group(1) not in names or seen.evidence:
        raise BackupError(f"{what}: unexpected archive member {name!r}")
    index, part = names.index(match.group(1)), int(match.group(2))
    if index != seen.table_index:
        if index < seen.table_index:
            raise BackupError(f"{what}: the tables are out of order at {name!r}")
        seen.table_index, seen.next_part = index, 0
    if part != seen.next_part:
        raise BackupError(f"{what}: a part of table {match.group(1)} is missing or repeated")
    seen.next_part += 1
    layout = seen.header.tables[index]
    seen.digests.setdefault(layout.name, hashlib.sha256()).update(data)
    try:
        rows = [decode_row(layout, line) for line in data.splitlines()]
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{what}: a row of {layout.name} is damaged ({exc})") from None
    entry = seen.tables.setdefault(layout.name, {"rows": 0})
    entry["rows"] += len(rows)
    for row in rows:
        _look_at(seen, layout.name, row)
    visitor.rows(layout, rows)


def _look_at(seen: _Seen, table: str, row: dict[str, Any]) -> None:
    try:
        if table == AUDIT_TABLE:
            seen.tally.add(row)
        elif table == "evidence" and row.get("storage_key") is not None:
            seen.storage_keys.add(str(row["storage_key"]))
        elif table == SEEDED:
            seen.head = (int(row["size"]), bytes(row["root"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"a row of {table} does not fit its table ({exc})") from None


def _evidence_member(
    seen: _Seen, key: str, size: int, content: IO[bytes], visitor: ArchiveVisitor, what: str
) -> None:
    try:
        check_storage_key(key)
    except InvalidStorageKey:
        raise BackupError(f"{what}: unexpected archive member {EVIDENCE_PREFIX}{key!r}") from None
    if key not in seen.storage_keys or key in seen.evidence:
        raise BackupError(f"{what}: evidence file {key[:12]}… is not named by any row, or twice")
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        while data := content.read(FILE_CHUNK_BYTES):
            digest.update(data)
            yield data

    visitor.evidence(key, size, chunks())
    seen.evidence[key] = {"size": size, "sha256": digest.hexdigest()}


def _compare(
    seen: _Seen, manifest: Manifest, verifier: Verifier, origin: str, what: str
) -> Checkpoint:
    assert seen.header is not None
    header = seen.header
    if (manifest.database_kind, manifest.revision) != (header.database_kind, header.revision):
        raise BackupError(f"{what}: the manifest and the description disagree")
    for layout in header.tables:
        found = seen.tables.get(layout.name, {"rows": 0})
        digest = seen.digests.get(layout.name, hashlib.sha256()).hexdigest()
        expected = manifest.tables.get(layout.name)
        if expected != {"rows": found["rows"], "sha256": digest}:
            raise BackupError(
                f"{what}: table {layout.name} holds {found['rows']} rows, not what the "
                "manifest lists (rows or hash differ)"
            )
    if set(manifest.tables) != {layout.name for layout in header.tables}:
        raise BackupError(f"{what}: the manifest lists other tables than the archive holds")
    if manifest.evidence != seen.evidence or set(seen.evidence) != seen.storage_keys:
        missing = len(seen.storage_keys - set(seen.evidence))
        raise BackupError(
            f"{what}: the evidence files differ from the manifest ({missing} named by rows "
            "are missing, or sizes and hashes differ)"
        )
    head = seen.head or (0, seen.tally.root)
    if head != (seen.tally.size, seen.tally.root):
        raise BackupError(f"{what}: the audit rows do not hash to the tree head the archive holds")
    checkpoint = check_checkpoint(manifest.checkpoint, verifier, origin, seen.tally)
    return checkpoint
