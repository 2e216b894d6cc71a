"""Handing out an evidence file: decrypted chunk by chunk and checked against its hash.

The last chunk is held back until the whole file matches the SHA-256 recorded at intake,
so a damaged file leaves a reader with an incomplete file, never a wrong complete one.
Each download is one `evidence.accessed` custody event and one `secret.decrypt` event
(the file name), recorded before the first byte leaves.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.crypto.stream import decrypt_stream
from incidents.errors import IncidentsError, NotFound
from incidents.models.evidence import Evidence
from incidents.models.report import Report
from incidents.permissions import Permission, ensure
from incidents.records.kinds import REPORT
from incidents.repositories import records as record_queries
from incidents.storage.closing import ClosesOnExit
from incidents.storage.store import EvidenceStore, StoredFileMissing


class EvidenceIntegrityError(IncidentsError):
    """A stored file decrypted to something other than what was received (hash or size)."""


class EvidenceErased(IncidentsError):
    """The evidence was crypto-shredded with its report: its file can never be read again."""


@dataclass(frozen=True)
class EvidenceFile:
    """What a download needs besides the content; `filename` is decrypted."""

    id: uuid.UUID
    report_reference: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str


class EvidenceContent(ClosesOnExit):
    """The plaintext of one stored file, chunk by chunk, checked against its intake hash.

    close() releases the stored file (web servers call it).
    """

    def __init__(
        self, store: EvidenceStore, key: str, cipher: AESGCM, evidence: Evidence, what: str
    ) -> None:
        self._chunks = self._verified(
            store, key, cipher, evidence.id, evidence.sha256, evidence.size_bytes, what
        )

    @staticmethod
    def _verified(
        store: EvidenceStore,
        key: str,
        cipher: AESGCM,
        evidence_id: uuid.UUID,
        expected_sha256: str,
        expected_size: int,
        what: str,
    ) -> Generator[bytes, None, None]:
        digest = hashlib.sha256()
        size = 0
        held = b""
        with store.open_read(key) as handle:
            for chunk in decrypt_stream(cipher, evidence_id, handle, what):
                digest.update(chunk)
                size += len(chunk)
                if held:
                    yield held
                held = chunk
        actual = digest.hexdigest()
        if size != expected_size or actual != expected_sha256:
            raise EvidenceIntegrityError(
                f"{what}: the stored file does not match what was received (SHA-256 "
                f"{actual[:16]}…, {size} bytes; recorded at intake {expected_sha256[:16]}…, "
                f"{expected_size} bytes); its last part was withheld"
            )
        if held:
            yield held

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()


def _describe(evidence: Evidence, report: Report | None) -> str:
    return f"evidence {evidence.id} of {report.reference if report else 'an unknown report'}"


def open_evidence(ctx: Context, evidence_id: uuid.UUID) -> tuple[EvidenceFile, EvidenceContent]:
    """The evidence file `evidence_id` for download: its details and its verified content.

    Researchers of the record's team only (another team: NotFound).
    """
    evidence = record_queries.by_id(ctx.session, Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"no evidence {evidence_id}")
    ensure(ctx.principal, Permission.FIELDS_SECRET, evidence)
    report = record_queries.by_id(ctx.session, Report, evidence.report_id)
    what = _describe(evidence, report)
    key = evidence.storage_key
    if key is None or (
        report is not None and record_queries.is_erased(ctx.session, REPORT.table, report.id)
    ):
        raise EvidenceErased(f"{what} was erased with its report; its file is gone")
    cipher = ctx.vault.cipher_for(evidence, create=False)
    if not ctx.store.exists(key):
        raise StoredFileMissing(f"{what}: its stored file is missing (restore it from a backup)")
    filename = ctx.vault.unseal(evidence, "filename")["filename"] or "evidence"
    record_event(ctx.session, ctx.actor, AuditAction.SECRET_DECRYPT, evidence, fields=["filename"])
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EVIDENCE_ACCESSED,
        evidence,
        detail={"report": report.reference if report else None, "sha256": evidence.sha256},
    )
    details = EvidenceFile(
        id=evidence.id,
        report_reference=report.reference if report else "",
        filename=filename,
        media_type=evidence.media_type,
        size_bytes=evidence.size_bytes,
        sha256=evidence.sha256,
    )
    return details, EvidenceContent(ctx.store, key, cipher, evidence, what)
