"""Evidence intake and download through the service, on SQLite and PostgreSQL (security
checks 2, 5, 7, 13, 28): types checked by content, size limit, hash checked at download,
custody events, access by team and role, no stored file left by a failure, erasure."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.stream import decrypt_stream
from incidents.errors import DecryptionError, NotFound, PermissionDenied, ValidationError
from incidents.models import DataKey, Evidence, Report, Team, User
from incidents.models.vocabularies import Role
from incidents.permissions import Operator
from incidents.repositories.data_keys import data_key_for
from incidents.services.erasure import erase_record
from incidents.services.evidence.download import (
    EvidenceErased,
    EvidenceFile,
    EvidenceIntegrityError,
    open_evidence,
)
from incidents.services.evidence.intake import add_evidence, find_report
from incidents.services.evidence.listing import evidence_for_reports
from incidents.services.evidence.policy import EvidenceTooLarge, clean_filename, human_size
from incidents.storage import lifecycle
from incidents.storage.store import DirectoryEvidenceStore, StoredFileMissing
from tests import helpers, samples
from tests.factories import ReportFactory, TeamFactory, UserFactory, stored_evidence
from tests.helpers import TEST_OPERATOR, count_events

MB = 1024 * 1024
CHUNK = 4096  # the smallest chunk size the settings allow: a few KB make several chunks

# acting(principal=the test operator, **settings): a context on the test's store.
Acting = Callable[..., Context]


@dataclass
class Desk:
    team: Team
    report: Report
    users: dict[str, User]


@pytest.fixture
def store(tmp_path: Path) -> DirectoryEvidenceStore:
    return DirectoryEvidenceStore(tmp_path / "evidence")


@pytest.fixture
def acting(context_for: Callable[..., Context], store: DirectoryEvidenceStore) -> Acting:
    """A call context acting as `principal` (the test operator unless told), on `store`."""

    def build(principal: User | Operator | None = TEST_OPERATOR, **settings: Any) -> Context:
        return dataclasses.replace(context_for(principal, **settings), store=store)

    return build


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()
    users = {role.value: UserFactory(role=role, teams=[team]) for role in Role}
    users["admin"] = UserFactory(role=Role.ADMIN, teams=[])
    users["other team"] = UserFactory(role=Role.RESEARCHER, teams=[other])
    return Desk(team, ReportFactory(team_id=team.id), users)


def add(
    acting: Acting,
    report: Report,
    content: bytes,
    *,
    user: User | Operator = TEST_OPERATOR,
    filename: str = "photo.png",
    description: str | None = None,
    max_bytes: int = 16 * MB,
    chunk_bytes: int = CHUNK,
) -> Evidence:
    ctx = acting(user, evidence_max_bytes=max_bytes, evidence_chunk_bytes=chunk_bytes)
    return add_evidence(ctx, report, io.BytesIO(content), filename, description)


def download(
    acting: Acting, evidence_id: uuid.UUID, user: User | Operator = TEST_OPERATOR
) -> tuple[EvidenceFile, bytes]:
    details, content = open_evidence(acting(user), evidence_id)
    with content:
        return details, b"".join(content)


def stored_bytes(store: DirectoryEvidenceStore) -> Iterator[bytes]:
    for path in store.root.rglob("*"):
        if path.is_file():
            yield path.read_bytes()


# -- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", sorted(samples.ACCEPTED))
def test_accepted_types_round_trip(
    media_type: str,
    db_session: Session,
    acting: Acting,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    content = samples.ACCEPTED[media_type]
    evidence = add(acting, desk.report, content, filename="file.bin")
    assert evidence.media_type == media_type
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size_bytes == len(content)
    details, plain = download(acting, evidence.id, desk.users["researcher"])
    assert plain == content
    assert details.filename == "file.bin"
    assert details.report_reference == desk.report.reference


@pytest.mark.parametrize(
    "size",
    [CHUNK - 100, CHUNK, 3 * CHUNK, 3 * CHUNK + 1],
    ids=["under a chunk", "exactly a chunk", "three chunks", "over three chunks"],
)
def test_multi_chunk_files_round_trip(
    size: int, db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=size - len(samples.png()))
    evidence = add(acting, desk.report, content)
    assert download(acting, evidence.id)[1] == content


def test_a_few_megabytes_at_the_default_chunk_size(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * MB + 5)
    evidence = add(acting, desk.report, content, chunk_bytes=MB)
    (path,) = (p for p in store.root.rglob("*") if p.is_file())
    assert path.stat().st_size > len(content)  # header and per-chunk nonces and tags
    assert download(acting, evidence.id)[1] == content


def test_the_row_the_key_and_the_custody_event(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    captured = datetime(2017, 3, 1, 21, 30, tzinfo=UTC)
    ctx = acting(desk.users["researcher"], evidence_max_bytes=MB, evidence_chunk_bytes=CHUNK)
    evidence = add_evidence(
        ctx,
        desk.report,
        io.BytesIO(samples.png()),
        "IMG_0001.png",
        "  The checkpoint at night.  ",
        captured,
    )
    db_session.expire_all()
    row = db_session.get(Evidence, evidence.id)
    assert row is not None
    assert row.report_id == desk.report.id and row.team_id == desk.team.id
    assert row.captured_at == captured
    assert row.storage_key is not None and store.exists(row.storage_key)
    assert row.filename is not None and b"IMG_0001" not in row.filename
    assert ctx.vault.unseal(row) == {
        "filename": "IMG_0001.png",
        "description": "The checkpoint at night.",
    }
    assert data_key_for(db_session, "evidence", row.id) is not None
    [event] = helpers.events(db_session, "evidence.received", row)
    assert event.detail["sha256"] == row.sha256
    assert event.detail["report"] == desk.report.reference
    assert "description" in event.fields and "filename" in event.fields
    assert "IMG_0001" not in str(event.detail) + str(event.fields)


def test_each_download_is_one_access_event_and_one_decryption_event(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    for times in (1, 2, 3):
        download(acting, evidence.id, desk.users["researcher"])
        assert count_events(db_session, "evidence.accessed", evidence) == times
        assert count_events(db_session, "secret.decrypt", evidence) == times


# -- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(samples.REJECTED))
def test_rejected_types_leave_nothing(
    kind: str, db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content, reason = samples.REJECTED[kind]
    with pytest.raises(ValidationError, match=f"(?i){re.escape(reason)}") as refused:
        add(acting, desk.report, content)
    assert "file" in refused.value.errors
    assert list(stored_bytes(store)) == []
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == 0


@pytest.mark.parametrize(
    ("content", "filename", "declared", "message"),
    [
        (samples.HTML_PAGE, "photo.png", "image/png", "an HTML page (text/html)"),
        (samples.SVG_IMAGE, "logo.svg", "image/svg+xml", "an SVG image (image/svg+xml)"),
        (samples.POLYGLOTS["PNG with an HTML tail"], "photo.png", None, "two things at once"),
        (samples.jpeg(), "photo.png", "image/png", "a JPEG image (image/jpeg)"),
        (samples.pdf(), "statement", "image/png", "your browser sent it as a PNG image"),
    ],
    ids=["html named png", "svg", "polyglot", "jpeg named png", "pdf declared png"],
)
def test_content_that_is_not_what_it_says_leaves_nothing(
    content: bytes,
    filename: str,
    declared: str | None,
    message: str,
    db_session: Session,
    acting: Acting,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as refused:
        add_evidence(
            acting(evidence_max_bytes=MB, evidence_chunk_bytes=CHUNK),
            desk.report,
            io.BytesIO(content),
            filename,
            None,
            declared_type=declared,
        )
    assert set(refused.value.errors) == {"file"}
    assert list(stored_bytes(store)) == []
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == 0
    evidence_keys = select(func.count()).where(DataKey.record_table == "evidence")
    assert db_session.scalar(evidence_keys) == 0


@pytest.mark.parametrize(
    ("content", "filename", "declared", "media_type"),
    [
        (samples.png(), "photo.png", "image/png", "image/png"),
        (samples.jpeg(), "IMG_0412.JPG", "image/jpeg", "image/jpeg"),
        (samples.pdf(), "statement.pdf", "application/pdf", "application/pdf"),
    ],
)
def test_real_files_named_as_what_they_are_are_kept(
    content: bytes,
    filename: str,
    declared: str,
    media_type: str,
    acting: Acting,
    desk: Desk,
) -> None:
    evidence = add_evidence(
        acting(evidence_max_bytes=MB, evidence_chunk_bytes=CHUNK),
        desk.report,
        io.BytesIO(content),
        filename,
        None,
        declared_type=declared,
    )
    assert evidence.media_type == media_type
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()


def test_text_with_binary_data_after_its_first_chunk_is_refused(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = b"Plain words. " * 1000 + b"\x00\x01binary tail"
    with pytest.raises(ValidationError, match="binary data"):
        add(acting, desk.report, content, filename="notes.txt")
    assert list(stored_bytes(store)) == []


def test_the_size_limit(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * CHUNK)
    with pytest.raises(EvidenceTooLarge, match="larger than"):
        add(acting, desk.report, content, max_bytes=len(content) - 1)
    assert list(stored_bytes(store)) == []
    assert (
        db_session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.record_table == "evidence")
        )
        == 0
    )  # the savepoint took the new data key too
    evidence = add(acting, desk.report, content, max_bytes=len(content))
    assert evidence.size_bytes == len(content)


@pytest.mark.parametrize(
    ("content", "description", "captured_at", "message"),
    [
        (b"", None, None, "empty"),
        (samples.png(), "x" * 2001, None, "longer than"),
        (samples.png(), None, datetime(2017, 3, 1), "time zone"),  # naive on purpose
    ],
    ids=["empty file", "long description", "naive capture time"],
)
def test_invalid_input(
    content: bytes,
    description: str | None,
    captured_at: datetime | None,
    message: str,
    db_session: Session,
    acting: Acting,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    with pytest.raises(ValidationError, match=message):
        add_evidence(
            acting(evidence_max_bytes=MB),
            desk.report,
            io.BytesIO(content),
            "f.png",
            description,
            captured_at,
        )
    assert list(stored_bytes(store)) == []


class FailingSource:
    """A file that breaks after some bytes (a dropped connection, a bad disk)."""

    def __init__(self, content: bytes) -> None:
        self._content = io.BytesIO(content)

    def read(self, size: int = -1, /) -> bytes:
        data = self._content.read(size)
        if not data:
            raise OSError("connection lost")
        return data


def test_a_source_failing_half_way_leaves_no_file(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    with pytest.raises(OSError, match="connection lost"):
        add_evidence(
            acting(evidence_max_bytes=MB, evidence_chunk_bytes=CHUNK),
            desk.report,
            FailingSource(samples.png(padding=5 * CHUNK)),
            "f.png",
            None,
        )
    assert list(stored_bytes(store)) == []  # not even a temporary file


def test_the_stored_file_follows_the_callers_transaction(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    kept = stored_evidence(store, desk.report)
    db_session.commit()
    rolled_back = stored_evidence(store, desk.report)
    assert kept.storage_key is not None and rolled_back.storage_key is not None
    key = rolled_back.storage_key
    assert store.exists(key)
    db_session.rollback()
    assert not store.exists(key)
    assert store.exists(kept.storage_key)
    assert lifecycle.pending_count(db_session) == 0
    nested = db_session.begin_nested()
    inner = stored_evidence(store, desk.report)
    assert inner.storage_key is not None
    nested.rollback()  # a savepoint of the caller's rolled back: its file goes too
    assert not store.exists(inner.storage_key)
    assert store.exists(kept.storage_key)


# -- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("other team", NotFound),
        ("admin", NotFound),
        ("advocacy_lead", PermissionDenied),
        ("auditor", PermissionDenied),
    ],
)
def test_only_the_teams_researchers_add_and_download(
    role: str,
    error: type[Exception],
    db_session: Session,
    acting: Acting,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    user = desk.users[role]
    with pytest.raises(error):
        add(acting, desk.report, samples.png(), user=user)
    with pytest.raises(error):
        find_report(acting(user), desk.report.reference)
    evidence = stored_evidence(store, desk.report)
    with pytest.raises(error):
        open_evidence(acting(user), evidence.id)
    assert count_events(db_session, "evidence.accessed", evidence) == 0
    assert count_events(db_session, "secret.decrypt", evidence) == 0


def test_unknown_evidence_and_reports_are_not_found(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    with pytest.raises(NotFound):
        open_evidence(acting(), uuid.uuid4())
    with pytest.raises(NotFound):
        find_report(acting(), "RPT-1999-9999")


def test_the_list_shows_names_to_researchers_only(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report, filename="CANARY-list-name.png")
    reports = [desk.report]
    before = count_events(db_session, "secret.decrypt", evidence)
    mine = evidence_for_reports(acting(desk.users["researcher"]), reports)
    (item,) = mine[desk.report.id]
    assert item.filename == "CANARY-list-name.png" and item.downloadable
    assert count_events(db_session, "secret.decrypt", evidence) == before + 1
    audit = evidence_for_reports(acting(desk.users["auditor"]), reports)
    (seen,) = audit[desk.report.id]
    assert seen.filename is None and not seen.downloadable
    assert seen.sha256 == evidence.sha256
    assert count_events(db_session, "secret.decrypt", evidence) == before + 1
    other = desk.users["other team"]
    assert evidence_for_reports(acting(other), reports) == {}


# -- integrity --------------------------------------------------------------------------


def test_a_changed_hash_in_the_database_is_caught_and_the_end_withheld(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * CHUNK)
    evidence = stored_evidence(store, desk.report, content=content)
    db_session.execute(update(Evidence).where(Evidence.id == evidence.id).values(sha256="ab" * 32))
    db_session.expire_all()
    _, chunks = open_evidence(acting(), evidence.id)
    released = bytearray()
    with chunks, pytest.raises(EvidenceIntegrityError, match=str(evidence.id)) as failure:
        for chunk in chunks:
            released += chunk
    assert desk.report.reference in str(failure.value)
    assert len(released) < len(content)  # the last chunk was never released
    assert content.startswith(bytes(released))


def test_a_changed_size_in_the_database_is_caught(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    db_session.execute(
        update(Evidence)
        .where(Evidence.id == evidence.id)
        .values(size_bytes=evidence.size_bytes + 1)
    )
    db_session.expire_all()
    with pytest.raises(EvidenceIntegrityError):
        download(acting, evidence.id)


def test_a_damaged_stored_file_is_caught(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report, content=samples.png(padding=3 * CHUNK))
    (path,) = (p for p in store.root.rglob("*") if p.is_file())
    damaged = bytearray(path.read_bytes())
    damaged[-100] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(DecryptionError, match=str(evidence.id)):
        download(acting, evidence.id)


def test_a_missing_stored_file_is_reported(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    assert evidence.storage_key is not None
    store.delete(evidence.storage_key)
    with pytest.raises(StoredFileMissing, match=str(evidence.id)):
        open_evidence(acting(), evidence.id)


# -- nothing readable at rest (security check 2) ----------------------------------------


def test_neither_content_nor_name_nor_description_is_in_the_store(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    canary = f"CANARY-evidence-{uuid.uuid4().hex}"
    content = (f"Statement {canary}. Свидетель {canary}.\n" * 400).encode()
    filename = f"{canary}-name.txt"
    description = f"{canary}-description"
    add(acting, desk.report, content, filename=filename, description=description)
    found = list(stored_bytes(store))
    assert found, "the store holds the file"
    needles = [
        value.encode(encoding)
        for value in (canary, "Statement", filename, description)
        for encoding in ("utf-8", "utf-16-le", "utf-16-be")
    ]
    for data in found:
        for needle in needles:
            assert needle not in data
    names = [p.name for p in store.root.rglob("*")]
    assert not any(canary in name or "txt" in name for name in names)


# -- erasure (security check 7) ---------------------------------------------------------


def test_erasing_the_report_deletes_the_file_and_leaves_nothing_decryptable(
    app: Flask, db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=2 * CHUNK)
    evidence = stored_evidence(store, desk.report, content=content)
    key = evidence.storage_key
    assert key is not None
    with store.open_read(key) as handle:
        copy = handle.read()  # a backup taken before the erasure
    db_session.commit()

    erase_record(acting(), desk.report.reference, "consent_withdrawn")
    assert store.exists(key)  # deleted only once the erasure commits
    db_session.commit()
    assert not store.exists(key)
    assert list(stored_bytes(store)) == []
    db_session.expire_all()
    row = db_session.get(Evidence, evidence.id)
    assert row is not None
    assert row.storage_key is None and row.filename is None and row.description is None
    assert row.sha256 == evidence.sha256  # provenance stays
    assert data_key_for(db_session, "evidence", evidence.id) is None
    with pytest.raises(EvidenceErased):
        open_evidence(acting(), evidence.id)
    listed = evidence_for_reports(acting(desk.users["researcher"]), [desk.report])
    (item,) = listed[desk.report.id]
    assert item.erased and not item.downloadable and item.filename is None
    with pytest.raises(ValidationError, match="erased"):
        add(acting, desk.report, samples.png())
    # No data key the installation holds opens the backed-up copy.
    provider = app.extensions["incidents.keys"]
    for row_key in db_session.scalars(select(DataKey)):
        material = envelope.unwrap_data_key(
            provider.get(row_key.master_key_id),
            row_key.wrapped_key,
            row_key.record_table,
            row_key.record_id,
            row_key.team_id,
        )
        with pytest.raises(DecryptionError):
            list(decrypt_stream(AESGCM(material), evidence.id, io.BytesIO(copy), "copy"))


def test_an_erasure_rolled_back_keeps_the_file(
    db_session: Session, acting: Acting, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    db_session.commit()
    key = evidence.storage_key
    assert key is not None
    erase_record(acting(), desk.report.reference, "entered_in_error")
    db_session.rollback()
    assert store.exists(key)
    assert download(acting, evidence.id)[1] == samples.png(padding=10_000)


# -- small helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("photo.png", "photo.png"),
        ("C:\\Users\\r\\Desktop\\photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("report\u202egnp.exe", "reportgnp.exe"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("фото свидетеля.jpg", "фото свидетеля.jpg"),
        ("", "unnamed"),
        ("..", "unnamed"),
    ],
)
def test_clean_filename(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


def test_human_size() -> None:
    assert human_size(1) == "1 byte"
    assert human_size(1023) == "1023 bytes"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(200 * MB) == "200 MiB"
