"""What an archive says about itself: the opening description and the closing manifest.

The archive's first member (`header.json`) says what is needed before any row can be
loaded: the format, the database kind and the schema revision, and each table's
columns in foreign-key order. Its last member (`manifest.json`) says what was written:
each table's row count and the SHA-256 of its members, each evidence file's size and
SHA-256, and the signed checkpoint of the audit log as the snapshot held it. A reader
compares what it read with the manifest only at the end: nothing read counts as whole
before then.

The audit tally recomputes the log's Merkle tree from the rows as they are dumped or
read back, with the project's canonical bytes, so the checkpoint is of the rows the
archive holds and not merely of a head the database claimed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.audit import merkle
from incidents.audit.log import row_bytes
from incidents.audit.signing import Checkpoint, Verifier, open_checkpoint
from incidents.errors import ValidationError
from incidents.services.backup.archive import BackupError
from incidents.services.backup.tables import TableLayout

CONTENT_FORMAT = "incidents-backup-content/1"
HEADER_MEMBER = "header.json"
MANIFEST_MEMBER = "manifest.json"
TABLE_PREFIX = "tables/"
EVIDENCE_PREFIX = "evidence/"
AUDIT_TABLE = "audit_events"


@dataclass(frozen=True)
class ContentHeader:
    created_at: datetime
    database_kind: str
    revision: str
    tables: list[TableLayout]

    def encode(self) -> bytes:
        return _json_bytes(
            {
                "format": CONTENT_FORMAT,
                "created_at": self.created_at.isoformat(),
                "database_kind": self.database_kind,
                "revision": self.revision,
                "tables": [layout.to_json() for layout in self.tables],
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> ContentHeader:
        try:
            document = json.loads(data)
            if document["format"] != CONTENT_FORMAT:
                raise BackupError(f"unknown archive content format {document['format']!r}")
            return cls(
                datetime.fromisoformat(document["created_at"]),
                str(document["database_kind"]),
                str(document["revision"]),
                [TableLayout.from_json(item) for item in document["tables"]],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the archive's description is damaged ({exc})") from None


@dataclass
class Manifest:
    created_at: datetime
    database_kind: str
    revision: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # rows, sha256
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # size, sha256
    checkpoint: str = ""
    verifier_key: str = ""

    def encode(self) -> bytes:
        return _json_bytes(
            {
                "format": CONTENT_FORMAT,
                "created_at": self.created_at.isoformat(),
                "database_kind": self.database_kind,
                "revision": self.revision,
                "tables": self.tables,
                "evidence": self.evidence,
                "audit_checkpoint": self.checkpoint,
                "audit_verifier_key": self.verifier_key,
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        try:
            document = json.loads(data)
            return cls(
                datetime.fromisoformat(document["created_at"]),
                str(document["database_kind"]),
                str(document["revision"]),
                dict(document["tables"]),
                dict(document["evidence"]),
                str(document["audit_checkpoint"]),
                str(document["audit_verifier_key"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the archive's manifest is damaged ({exc})") from None

    def total_rows(self) -> int:
        return sum(int(entry["rows"]) for entry in self.tables.values())


def _json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode("utf-8") + b"\n"


class AuditTally:
    """The Merkle tree of the audit rows seen so far, each checked against its leaf hash."""

    def __init__(self) -> None:
        self._frontier: list[bytes] = []
        self.size = 0

    def add(self, row: dict[str, Any]) -> None:
        position = row["id"]
        if position != self.size + 1:
            raise BackupError(
                f"audit event {self.size + 1} is missing (the log jumps to {position})"
            )
        data = row_bytes(row)
        leaf = merkle.leaf_hash(data)
        if leaf != row["leaf_hash"]:
            raise BackupError(f"audit event {position} does not match its recorded hash")
        merkle.frontier_append(self._frontier, self.size, leaf)
        self.size = position

    @property
    def root(self) -> bytes:
        return merkle.frontier_root(self._frontier)


def check_checkpoint(note: str, verifier: Verifier, origin: str, tally: AuditTally) -> Checkpoint:
    """The manifest's checkpoint, once its signature verifies and it is of these rows."""
    try:
        checkpoint = open_checkpoint(note, verifier)
    except ValidationError as exc:
        raise BackupError(f"the archive's audit checkpoint is not valid: {exc}") from None
    if checkpoint.origin != origin:
        raise BackupError(
            f"the archive's audit checkpoint is of the log {checkpoint.origin!r}, "
            f"not of this installation's ({origin!r})"
        )
    if (checkpoint.size, checkpoint.root) != (tally.size, tally.root):
        raise BackupError(
            f"the archive's {tally.size} audit events do not hash to its signed checkpoint "
            f"of {checkpoint.size} events"
        )
    return checkpoint
