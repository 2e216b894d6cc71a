"""Receiving an evidence file: type, size, hash, encryption, custody event.

A file is read once, as a stream: its media type is detected from the first bytes and
held against what its name and its declared type say; its SHA-256 and size are computed
while it is encrypted chunk by chunk into the evidence store under its record's own data
key, and its name and description are sealed in the row. The stored file follows the
caller's transaction (see incidents.storage.lifecycle).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.crypto.stream import Readable, StreamEncryptor, read_full
from incidents.errors import StorageFull, ValidationError
from incidents.models.evidence import Evidence
from incidents.models.report import Report
from incidents.outages import disk_full
from incidents.permissions import Permission
from incidents.records.kinds import REPORT
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.evidence.claims import checked_media_type
from incidents.services.evidence.policy import (
    TEXT,
    EvidenceTooLarge,
    TextCheck,
    clean_description,
    clean_filename,
)
from incidents.storage import lifecycle
from incidents.storage.store import new_storage_key


def find_report(ctx: Context, reference: str) -> Report:
    """The report `reference`, if the principal may add evidence to it."""
    report: Report = records.find(ctx, REPORT, reference, Permission.CASE_WRITE)
    return report


def add_evidence(
    ctx: Context,
    report: Report,
    stream: Readable,
    filename: str,
    description: str | None,
    captured_at: datetime | None = None,
    *,
    declared_type: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Evidence:
    """Receive a file for `report`: check it, encrypt it into the store, record its custody.

    `declared_type` is the media type the sender gave (a browser's, from the file's name).
    Raises ValidationError (media type from the content, or disagreeing with the name or
    `declared_type`; size — the setting evidence_max_bytes; empty file; description),
    StorageFull (no space left for the file), NotFound or PermissionDenied. Everything
    happens in a savepoint of the caller's transaction, and the stored file goes if it
    rolls back.
    """
    report = records.find(ctx, REPORT, report.id, Permission.CASE_WRITE)
    if record_queries.is_erased(ctx.session, REPORT.table, report.id):
        raise ValidationError(f"{report.reference} was erased; it takes no new evidence.")
    max_bytes = ctx.settings.evidence_max_bytes
    chunk_bytes = ctx.settings.evidence_chunk_bytes
    name = clean_filename(filename)
    text = clean_description(description)
    if captured_at is not None and captured_at.tzinfo is None:
        raise ValidationError.on("captured_at", "Give the capture time with its time zone.")
    head = read_full(stream, chunk_bytes)
    if not head:
        raise ValidationError.on("file", "This file is empty: choose a file to upload.")
    media_type = checked_media_type(head, name, declared_type)
    text_check = TextCheck() if media_type == TEXT else None
    evidence = Evidence(
        id=uuid.uuid4(), team_id=report.team_id, report_id=report.id, captured_at=captured_at
    )
    digest = hashlib.sha256()
    size = 0
    with ctx.session.begin_nested():
        cipher = ctx.vault.cipher_for(evidence, create=True)
        key = new_storage_key()
        lifecycle.delete_on_rollback(ctx.session, ctx.store, key)
        try:
            with ctx.store.open_write(key) as target:
                encryptor = StreamEncryptor(cipher, evidence.id, target, chunk_bytes)
                piece = head
                while piece:
                    size += len(piece)
                    if size > max_bytes:
                        raise EvidenceTooLarge.over(max_bytes)
                    digest.update(piece)
                    if text_check is not None:
                        text_check.feed(piece)
                    encryptor.write(piece)
                    if progress is not None:
                        progress(len(piece))
                    piece = stream.read(chunk_bytes)
                if text_check is not None:
                    text_check.feed(b"", final=True)
                encryptor.finish()
        except OSError as exc:
            # The writer has removed its partial file and the savepoint is undone: say
            # so plainly rather than as an error of the server.
            if disk_full(exc):
                raise StorageFull("the file") from None
            raise
        evidence.sha256 = digest.hexdigest()
        evidence.size_bytes = size
        evidence.media_type = media_type
        evidence.storage_key = key
        ctx.vault.seal(evidence, filename=name, description=text)
        ctx.session.add(evidence)
        ctx.session.flush()
        fields = ["filename", "media_type", "sha256", "size_bytes"]
        fields += ["description"] if text else []
        fields += ["captured_at"] if captured_at else []
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.EVIDENCE_RECEIVED,
            evidence,
            fields=fields,
            detail={
                "report": report.reference,
                "sha256": evidence.sha256,
                "size_bytes": size,
                "media_type": media_type,
            },
        )
    return evidence
