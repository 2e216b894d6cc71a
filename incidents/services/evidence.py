"""Evidence files: intake (type, size, hash, encryption, custody event) and verified download.

A file is read once, as a stream: its media type is detected from the first bytes, its
SHA-256 and size are computed while it is encrypted chunk by chunk into the evidence
store under its record's own data key, and its name and description are sealed in the
row. A download decrypts chunk by chunk, recomputes the SHA-256, and holds back the last
chunk until the whole file matches the hash recorded at intake. Services never commit;
the stored file follows the caller's transaction (see incidents.storage.lifecycle).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import filetype
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.stream import (
    DEFAULT_CHUNK_BYTES,
    Readable,
    StreamEncryptor,
    decrypt_stream,
    read_full,
)
from incidents.crypto.vault import FieldVault
from incidents.db import FieldClass
from incidents.errors import DecryptionError, IncidentsError, NotFound, ValidationError
from incidents.models.evidence import Evidence
from incidents.models.report import Report
from incidents.models.user import User
from incidents.permissions import Permission, can, ensure, visible_field_classes
from incidents.repositories import evidence as evidence_queries
from incidents.storage import lifecycle
from incidents.storage.closing import ClosesOnExit
from incidents.storage.store import EvidenceStore, StoredFileMissing, new_storage_key

log = logging.getLogger(__name__)

TEXT = "text/plain"
SNIFF_BYTES = 8192  # what the type detection looks at
MAX_FILENAME = 255
MAX_DESCRIPTION = 2000

# What may be kept as evidence, by media type as detected from the content (filetype).
ACCEPTED_MEDIA_TYPES: dict[str, str] = {
    # images, camera raw included: the original a photographer hands over
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/tiff": "image",
    "image/bmp": "image",
    "image/heic": "image",
    "image/avif": "image",
    "image/jpx": "image",
    "image/x-canon-cr2": "image",
    "application/pdf": "PDF",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/ogg": "audio",
    "audio/x-flac": "audio",
    "audio/x-wav": "audio",
    "audio/amr": "audio",
    "audio/x-aiff": "audio",
    "video/mp4": "video",
    "video/x-m4v": "video",
    "video/quicktime": "video",
    "video/x-matroska": "video",
    "video/webm": "video",
    "video/x-msvideo": "video",
    "video/3gpp": "video",
    "video/mpeg": "video",
    "video/x-ms-wmv": "video",
    TEXT: "plain text",
    "application/msword": "office document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "office document",
    "application/vnd.ms-excel": "office document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "office document",
    "application/vnd.ms-powerpoint": "office document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "office document"
    ),
    "application/vnd.oasis.opendocument.text": "office document",
    "application/vnd.oasis.opendocument.spreadsheet": "office document",
    "application/vnd.oasis.opendocument.presentation": "office document",
    "application/rtf": "office document",
}
ACCEPTED_KINDS = "images, PDF, audio, video, plain text (UTF-8) and office documents"
EXECUTABLE_MEDIA_TYPES = frozenset(
    {
        "application/x-executable",
        "application/x-msdownload",
        "application/wasm",
        "application/x-deb",
        "application/x-rpm",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
        "application/vnd.ms-cab-compressed",
    }
)
ARCHIVE_MEDIA_TYPES = frozenset(
    {
        "application/zip",
        "application/epub+zip",
        "application/x-tar",
        "application/x-rar-compressed",
        "application/gzip",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/x-xz",
        "application/zstd",
        "application/x-brotli",
        "application/x-compress",
        "application/x-lzip",
        "application/x-lzop",
        "application/x-lz4",
        "application/x-unix-archive",
    }
)
# Text may hold tabs, line and page breaks; other control characters mean binary data
# (or terminal escape sequences, which have no place in a statement).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
# Bidirectional overrides and isolates can make "report\u202egnp.exe" look like a .png.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069]")


class EvidenceTooLarge(ValidationError):
    """The file is larger than the installation's evidence limit."""


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


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence file as a list shows it; `filename` only for those who may read it."""

    id: uuid.UUID
    sha256: str
    size_bytes: int
    media_type: str
    captured_at: datetime | None
    received_at: datetime
    filename: str | None
    stored: bool  # a file is in the store (rows made without one, like the demo's, have none)
    downloadable: bool
    erased: bool  # erased with its report: key and file gone for good


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'; exact bytes below one KiB."""
    if size < 1024:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    raise AssertionError("unreachable")


# -- intake -----------------------------------------------------------------------------


class _TextCheck:
    """Checks, chunk by chunk, that a file taken for plain text is UTF-8 text throughout."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def feed(self, data: bytes, *, final: bool = False) -> None:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError:
            raise ValidationError(
                "the file starts as plain text but is not UTF-8 text throughout; "
                f"accepted are {ACCEPTED_KINDS}",
                {"file": "not UTF-8 text"},
            ) from None
        if _CONTROL.search(text):
            raise ValidationError(
                "the file starts as plain text but holds binary data; "
                f"accepted are {ACCEPTED_KINDS}",
                {"file": "binary data in a text file"},
            )


def _looks_like_text(head: bytes) -> bool:
    try:
        _TextCheck().feed(head)  # not final: the sample may end inside a character
    except ValidationError:
        return False
    return True


def detect_media_type(head: bytes) -> str:
    """The media type of a file from its first bytes, if it is one evidence may have."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None:
        if head.startswith(b"#!"):
            raise ValidationError(
                "scripts are not accepted as evidence", {"file": "a script (executable)"}
            )
        if _looks_like_text(head):
            return TEXT
        raise ValidationError(
            f"the type of this file could not be recognised from its content; accepted are "
            f"{ACCEPTED_KINDS}",
            {"file": "unknown type"},
        )
    media_type = str(kind.mime)
    if media_type in ACCEPTED_MEDIA_TYPES:
        return media_type
    if media_type in EXECUTABLE_MEDIA_TYPES:
        reason = f"programs ({media_type}) are not accepted as evidence"
    elif media_type in ARCHIVE_MEDIA_TYPES:
        reason = f"archives ({media_type}) are not accepted: add the files inside one by one"
    else:
        reason = f"{media_type} files are not accepted as evidence; accepted are {ACCEPTED_KINDS}"
    raise ValidationError(reason, {"file": f"{media_type} not accepted"})


def clean_filename(filename: str) -> str:
    """The name to keep (encrypted): its last path part, without control characters."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = _HIDDEN.sub(
        "", "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cs"))
    )
    name = name.strip()[:MAX_FILENAME].strip()
    return name if name not in ("", ".", "..") else "unnamed"


def _clean_description(description: str | None) -> str | None:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError(
            f"the description is longer than {MAX_DESCRIPTION} characters",
            {"description": "too long"},
        )
    return text or None


def find_report(session: Session, user: User | None, reference: str) -> Report:
    """The report `reference`, if `user` may add evidence to it (None: the command line)."""
    report = evidence_queries.report_by_reference(session, reference)
    if report is None:
        raise NotFound(f"no report {reference}")
    if user is not None:
        ensure(user, Permission.CASE_WRITE, report)
    return report


def add_evidence(
    session: Session,
    vault: FieldVault,
    store: EvidenceStore,
    actor: Actor,
    user: User | None,
    report: Report,
    stream: Readable,
    filename: str,
    description: str | None,
    captured_at: datetime | None = None,
    *,
    max_bytes: int,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Callable[[int], None] | None = None,
) -> Evidence:
    """Receive a file for `report`: check it, encrypt it into `store`, record its custody.

    `user` None is the operator at the command line. Raises ValidationError (media type,
    size, empty file, description), NotFound or PermissionDenied. Everything happens in
    a savepoint of the caller's transaction, and the stored file goes if it rolls back.
    """
    if user is not None:
        ensure(user, Permission.CASE_WRITE, report)
    if evidence_queries.is_erased(session, report):
        raise ValidationError(f"{report.reference} was erased; it takes no new evidence")
    name = clean_filename(filename)
    text = _clean_description(description)
    if captured_at is not None and captured_at.tzinfo is None:
        raise ValidationError("the capture time needs a time zone", {"captured_at": "no zone"})
    head = read_full(stream, chunk_bytes)
    if not head:
        raise ValidationError("choose a file to upload: this one is empty", {"file": "empty"})
    media_type = detect_media_type(head)
    text_check = _TextCheck() if media_type == TEXT else None
    evidence = Evidence(
        id=uuid.uuid4(), team_id=report.team_id, report_id=report.id, captured_at=captured_at
    )
    digest = hashlib.sha256()
    size = 0
    with session.begin_nested():
        cipher = vault.cipher_for(evidence, create=True)
        key = new_storage_key()
        lifecycle.delete_on_rollback(session, store, key)
        with store.open_write(key) as target:
            encryptor = StreamEncryptor(cipher, evidence.id, target, chunk_bytes)
            piece = head
            while piece:
                size += len(piece)
                if size > max_bytes:
                    raise EvidenceTooLarge(
                        f"the file is larger than {human_size(max_bytes)}, the most this "
                        "installation accepts as evidence",
                        {"file": "too large"},
                    )
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
        evidence.sha256 = digest.hexdigest()
        evidence.size_bytes = size
        evidence.media_type = media_type
        evidence.storage_key = key
        vault.seal(evidence, filename=name, description=text)
        session.add(evidence)
        session.flush()
        fields = ["filename", "media_type", "sha256", "size_bytes"]
        fields += ["description"] if text else []
        fields += ["captured_at"] if captured_at else []
        record_event(
            session,
            actor,
            "evidence.received",
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


# -- download ---------------------------------------------------------------------------


class EvidenceContent(ClosesOnExit):
    """The plaintext of one stored file, chunk by chunk, checked against its intake hash.

    The last chunk is released only once the size and SHA-256 of the whole file match
    the record, so a mismatch leaves a reader with an incomplete file, never a wrong
    complete one. close() releases the stored file (web servers call it).
    """

    def __init__(
        self,
        store: EvidenceStore,
        key: str,
        cipher: AESGCM,
        evidence: Evidence,
        what: str,
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


def open_evidence(
    session: Session,
    vault: FieldVault,
    store: EvidenceStore,
    actor: Actor,
    user: User | None,
    evidence_id: uuid.UUID,
) -> tuple[EvidenceFile, EvidenceContent]:
    """The evidence file `evidence_id` for download: its details and its verified content.

    Researchers of the record's team only (another team: NotFound); `user` None is the
    operator at the command line. Records one `evidence.accessed` custody event and one
    `secret.decrypt` event (the file name) per call.
    """
    evidence = evidence_queries.evidence_by_id(session, evidence_id)
    if evidence is None:
        raise NotFound(f"no evidence {evidence_id}")
    if user is not None:
        ensure(user, Permission.FIELDS_SECRET, evidence)
    report = session.get(Report, evidence.report_id)
    what = _describe(evidence, report)
    key = evidence.storage_key
    if key is None or (report is not None and evidence_queries.is_erased(session, report)):
        raise EvidenceErased(f"{what} was erased with its report; its file is gone")
    cipher = vault.cipher_for(evidence, create=False)
    if not store.exists(key):
        raise StoredFileMissing(f"{what}: its stored file is missing (restore it from a backup)")
    filename = vault.unseal(evidence, "filename")["filename"] or "evidence"
    record_event(session, actor, "secret.decrypt", evidence, fields=["filename"])
    record_event(
        session,
        actor,
        "evidence.accessed",
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
    return details, EvidenceContent(store, key, cipher, evidence, what)


# -- lists and erasure ------------------------------------------------------------------


def evidence_for_reports(
    session: Session, vault: FieldVault, actor: Actor, user: User, reports: Sequence[Report]
) -> dict[uuid.UUID, list[EvidenceItem]]:
    """The evidence of `reports` that `user` may see, by report id.

    Restricted viewers see hash, size, type and dates; researchers of the team also the
    file name, decrypted here (one `secret.decrypt` event per file), never in a template.
    """
    found: dict[uuid.UUID, list[EvidenceItem]] = defaultdict(list)
    report_ids = [r.id for r in reports]
    rows = evidence_queries.evidence_of_reports(session, report_ids, user.team_ids)
    erased = evidence_queries.erased_reports(session, report_ids) if rows else set()
    for evidence in rows:
        classes = visible_field_classes(user, evidence)
        if FieldClass.RESTRICTED not in classes:
            continue
        filename = None
        if FieldClass.SECRET in classes and evidence.filename is not None:
            try:
                filename = vault.unseal(evidence, "filename")["filename"]
            except DecryptionError as exc:
                log.warning("evidence %s: file name not shown: %s", evidence.id, exc)
            else:
                record_event(session, actor, "secret.decrypt", evidence, fields=["filename"])
        found[evidence.report_id].append(
            EvidenceItem(
                id=evidence.id,
                sha256=evidence.sha256,
                size_bytes=evidence.size_bytes,
                media_type=evidence.media_type,
                captured_at=evidence.captured_at,
                received_at=evidence.received_at,
                filename=filename,
                stored=evidence.storage_key is not None,
                downloadable=evidence.storage_key is not None
                and evidence.report_id not in erased
                and can(user, Permission.FIELDS_SECRET, evidence),
                erased=evidence.report_id in erased,
            )
        )
    return dict(found)


def forget_stored_files(session: Session, store: EvidenceStore, records: Iterable[object]) -> int:
    """For erasure: delete the stored files of the evidence among `records` once the
    transaction commits, and clear their storage keys now. Returns how many."""
    count = 0
    for record in records:
        if isinstance(record, Evidence) and record.storage_key is not None:
            lifecycle.delete_after_commit(session, store, record.storage_key)
            record.storage_key = None
            count += 1
    return count
