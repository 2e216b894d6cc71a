"""Evidence intake and download through the service, on SQLite and PostgreSQL (SECURITY 2,
5, 7, 13, 28): types checked by content, size limit, hash checked at download, custody
events, access by team and role, no stored file left by a failure, erasure."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from incidents.audit.log import Actor
from incidents.crypto import envelope
from incidents.crypto.stream import decrypt_stream
from incidents.crypto.vault import FieldVault
from incidents.errors import DecryptionError, NotFound, PermissionDenied, ValidationError
from incidents.models import AuditEvent, DataKey, Evidence, Report, Team, User
from incidents.models.vocabularies import Role
from incidents.repositories.data_keys import data_key_for
from incidents.services import evidence as evidence_service
from incidents.services.erasure import erase_record
from incidents.services.evidence import (
    EvidenceErased,
    EvidenceIntegrityError,
    EvidenceTooLarge,
    add_evidence,
    clean_filename,
    human_size,
    open_evidence,
)
from incidents.storage import lifecycle
from incidents.storage.store import DirectoryEvidenceStore, StoredFileMissing
from tests import samples
from tests.factories import ReportFactory, TeamFactory, UserFactory, stored_evidence

ACTOR = Actor("tests")
MB = 1024 * 1024
CHUNK = 4096  # the smallest chunk size the settings allow: a few KB make several chunks


@dataclass
class Desk:
    team: Team
    report: Report
    users: dict[str, User]


@pytest.fixture
def store(tmp_path: Path) -> DirectoryEvidenceStore:
    return DirectoryEvidenceStore(tmp_path / "evidence")


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()
    users = {role.value: UserFactory(role=role, teams=[team]) for role in Role}
    users["admin"] = UserFactory(role=Role.ADMIN, teams=[])
    users["other team"] = UserFactory(role=Role.RESEARCHER, teams=[other])
    return Desk(team, ReportFactory(team_id=team.id), users)


def add(
    db_session: Session,
    vault: FieldVault,
    store: DirectoryEvidenceStore,
    report: Report,
    content: bytes,
    *,
    user: User | None = None,
    filename: str = "photo.png",
    description: str | None = None,
    max_bytes: int = 16 * MB,
    chunk_bytes: int = CHUNK,
) -> Evidence:
    return add_evidence(
        db_session,
        vault,
        store,
        ACTOR,
        user,
        report,
        io.BytesIO(content),
        filename,
        description,
        max_bytes=max_bytes,
        chunk_bytes=chunk_bytes,
    )


def download(
    db_session: Session,
    vault: FieldVault,
    store: DirectoryEvidenceStore,
    evidence_id: uuid.UUID,
    user: User | None = None,
) -> tuple[evidence_service.EvidenceFile, bytes]:
    details, content = open_evidence(db_session, vault, store, ACTOR, user, evidence_id)
    with content:
        return details, b"".join(content)


def events(db_session: Session, action: str, target: object) -> int:
    return (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.target_id == str(target))
        )
        or 0
    )


def stored_bytes(store: DirectoryEvidenceStore) -> Iterator[bytes]:
    for path in store.root.rglob("*"):
        if path.is_file():
            yield path.read_bytes()


# -- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", sorted(samples.ACCEPTED))
def test_accepted_types_round_trip(
    media_type: str,
    db_session: Session,
    vault: FieldVault,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    content = samples.ACCEPTED[media_type]
    evidence = add(db_session, vault, store, desk.report, content, filename="file.bin")
    assert evidence.media_type == media_type
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size_bytes == len(content)
    details, plain = download(db_session, vault, store, evidence.id, desk.users["researcher"])
    assert plain == content
    assert details.filename == "file.bin"
    assert details.report_reference == desk.report.reference


@pytest.mark.parametrize(
    "size",
    [CHUNK - 100, CHUNK, 3 * CHUNK, 3 * CHUNK + 1],
    ids=["under a chunk", "exactly a chunk", "three chunks", "over three chunks"],
)
def test_multi_chunk_files_round_trip(
    size: int, db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=size - len(samples.png()))
    evidence = add(db_session, vault, store, desk.report, content)
    assert download(db_session, vault, store, evidence.id)[1] == content


def test_a_few_megabytes_at_the_default_chunk_size(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * MB + 5)
    evidence = add(db_session, vault, store, desk.report, content, chunk_bytes=MB)
    (path,) = (p for p in store.root.rglob("*") if p.is_file())
    assert path.stat().st_size > len(content)  # header and per-chunk nonces and tags
    assert download(db_session, vault, store, evidence.id)[1] == content


def test_the_row_the_key_and_the_custody_event(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    captured = datetime(2017, 3, 1, 21, 30, tzinfo=UTC)
    evidence = add_evidence(
        db_session,
        vault,
        store,
        ACTOR,
        desk.users["researcher"],
        desk.report,
        io.BytesIO(samples.png()),
        "IMG_0001.png",
        "  The checkpoint at night.  ",
        captured,
        max_bytes=MB,
        chunk_bytes=CHUNK,
    )
    db_session.expire_all()
    row = db_session.get(Evidence, evidence.id)
    assert row is not None
    assert row.report_id == desk.report.id and row.team_id == desk.team.id
    assert row.captured_at == captured
    assert row.storage_key is not None and store.exists(row.storage_key)
    assert row.filename is not None and b"IMG_0001" not in row.filename
    assert vault.unseal(row) == {
        "filename": "IMG_0001.png",
        "description": "The checkpoint at night.",
    }
    assert data_key_for(db_session, "evidence", row.id) is not None
    event = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "evidence.received", AuditEvent.target_id == str(row.id)
        )
    ).one()
    assert event.detail["sha256"] == row.sha256
    assert event.detail["report"] == desk.report.reference
    assert "description" in event.fields and "filename" in event.fields
    assert "IMG_0001" not in str(event.detail) + str(event.fields)


def test_each_download_is_one_access_event_and_one_decryption_event(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    for times in (1, 2, 3):
        download(db_session, vault, store, evidence.id, desk.users["researcher"])
        assert events(db_session, "evidence.accessed", evidence.id) == times
        assert events(db_session, "secret.decrypt", evidence.id) == times


# -- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(samples.REJECTED))
def test_rejected_types_leave_nothing(
    kind: str, db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content, reason = samples.REJECTED[kind]
    with pytest.raises(ValidationError, match=reason) as refused:
        add(db_session, vault, store, desk.report, content)
    assert "file" in refused.value.errors
    assert list(stored_bytes(store)) == []
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_text_with_binary_data_after_its_first_chunk_is_refused(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = b"Plain words. " * 1000 + b"\x00\x01binary tail"
    with pytest.raises(ValidationError, match="binary data"):
        add(db_session, vault, store, desk.report, content, filename="notes.txt")
    assert list(stored_bytes(store)) == []


def test_the_size_limit(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * CHUNK)
    with pytest.raises(EvidenceTooLarge, match="larger than"):
        add(db_session, vault, store, desk.report, content, max_bytes=len(content) - 1)
    assert list(stored_bytes(store)) == []
    assert (
        db_session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.record_table == "evidence")
        )
        == 0
    )  # the savepoint took the new data key too
    evidence = add(db_session, vault, store, desk.report, content, max_bytes=len(content))
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
    vault: FieldVault,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    with pytest.raises(ValidationError, match=message):
        add_evidence(
            db_session,
            vault,
            store,
            ACTOR,
            None,
            desk.report,
            io.BytesIO(content),
            "f.png",
            description,
            captured_at,
            max_bytes=MB,
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
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    with pytest.raises(OSError, match="connection lost"):
        add_evidence(
            db_session,
            vault,
            store,
            ACTOR,
            None,
            desk.report,
            FailingSource(samples.png(padding=5 * CHUNK)),
            "f.png",
            None,
            max_bytes=MB,
            chunk_bytes=CHUNK,
        )
    assert list(stored_bytes(store)) == []  # not even a temporary file


def test_the_stored_file_follows_the_callers_transaction(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
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
    vault: FieldVault,
    store: DirectoryEvidenceStore,
    desk: Desk,
) -> None:
    user = desk.users[role]
    with pytest.raises(error):
        add(db_session, vault, store, desk.report, samples.png(), user=user)
    with pytest.raises(error):
        evidence_service.find_report(db_session, user, desk.report.reference)
    evidence = stored_evidence(store, desk.report)
    with pytest.raises(error):
        open_evidence(db_session, vault, store, ACTOR, user, evidence.id)
    assert events(db_session, "evidence.accessed", evidence.id) == 0
    assert events(db_session, "secret.decrypt", evidence.id) == 0


def test_unknown_evidence_and_reports_are_not_found(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    with pytest.raises(NotFound):
        open_evidence(db_session, vault, store, ACTOR, None, uuid.uuid4())
    with pytest.raises(NotFound):
        evidence_service.find_report(db_session, None, "RPT-1999-9999")


def test_the_list_shows_names_to_researchers_only(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report, filename="CANARY-list-name.png")
    reports = [desk.report]
    before = events(db_session, "secret.decrypt", evidence.id)
    mine = evidence_service.evidence_for_reports(
        db_session, vault, ACTOR, desk.users["researcher"], reports
    )
    (item,) = mine[desk.report.id]
    assert item.filename == "CANARY-list-name.png" and item.downloadable
    assert events(db_session, "secret.decrypt", evidence.id) == before + 1
    audit = evidence_service.evidence_for_reports(
        db_session, vault, ACTOR, desk.users["auditor"], reports
    )
    (seen,) = audit[desk.report.id]
    assert seen.filename is None and not seen.downloadable
    assert seen.sha256 == evidence.sha256
    assert events(db_session, "secret.decrypt", evidence.id) == before + 1
    other = desk.users["other team"]
    assert evidence_service.evidence_for_reports(db_session, vault, ACTOR, other, reports) == {}


# -- integrity --------------------------------------------------------------------------


def test_a_changed_hash_in_the_database_is_caught_and_the_end_withheld(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=3 * CHUNK)
    evidence = stored_evidence(store, desk.report, content=content)
    db_session.execute(update(Evidence).where(Evidence.id == evidence.id).values(sha256="ab" * 32))
    db_session.expire_all()
    _, chunks = open_evidence(db_session, vault, store, ACTOR, None, evidence.id)
    released = bytearray()
    with chunks, pytest.raises(EvidenceIntegrityError, match=str(evidence.id)) as failure:
        for chunk in chunks:
            released += chunk
    assert desk.report.reference in str(failure.value)
    assert len(released) < len(content)  # the last chunk was never released
    assert content.startswith(bytes(released))


def test_a_changed_size_in_the_database_is_caught(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    db_session.execute(
        update(Evidence)
        .where(Evidence.id == evidence.id)
        .values(size_bytes=evidence.size_bytes + 1)
    )
    db_session.expire_all()
    with pytest.raises(EvidenceIntegrityError):
        download(db_session, vault, store, evidence.id)


def test_a_damaged_stored_file_is_caught(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report, content=samples.png(padding=3 * CHUNK))
    (path,) = (p for p in store.root.rglob("*") if p.is_file())
    damaged = bytearray(path.read_bytes())
    damaged[-100] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(DecryptionError, match=str(evidence.id)):
        download(db_session, vault, store, evidence.id)


def test_a_missing_stored_file_is_reported(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    assert evidence.storage_key is not None
    store.delete(evidence.storage_key)
    with pytest.raises(StoredFileMissing, match=str(evidence.id)):
        open_evidence(db_session, vault, store, ACTOR, None, evidence.id)


# -- nothing readable at rest (SECURITY 2) ----------------------------------------------


def test_neither_content_nor_name_nor_description_is_in_the_store(
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    canary = f"CANARY-evidence-{uuid.uuid4().hex}"
    content = (f"Statement {canary}. Свидетель {canary}.\n" * 400).encode()
    filename = f"{canary}-name.txt"
    description = f"{canary}-description"
    add(db_session, vault, store, desk.report, content, filename=filename, description=description)
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


# -- erasure (SECURITY 7) ---------------------------------------------------------------


def test_erasing_the_report_deletes_the_file_and_leaves_nothing_decryptable(
    app: Flask, db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    content = samples.png(padding=2 * CHUNK)
    evidence = stored_evidence(store, desk.report, content=content)
    key = evidence.storage_key
    assert key is not None
    with store.open_read(key) as handle:
        copy = handle.read()  # a backup taken before the erasure
    db_session.commit()

    erase_record(db_session, ACTOR, None, desk.report.reference, "source withdrew", store=store)
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
        open_evidence(db_session, vault, store, ACTOR, None, evidence.id)
    listed = evidence_service.evidence_for_reports(
        db_session, vault, ACTOR, desk.users["researcher"], [desk.report]
    )
    (item,) = listed[desk.report.id]
    assert item.erased and not item.downloadable and item.filename is None
    with pytest.raises(ValidationError, match="erased"):
        add(db_session, vault, store, desk.report, samples.png())
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
    db_session: Session, vault: FieldVault, store: DirectoryEvidenceStore, desk: Desk
) -> None:
    evidence = stored_evidence(store, desk.report)
    db_session.commit()
    key = evidence.storage_key
    assert key is not None
    erase_record(db_session, ACTOR, None, desk.report.reference, "a mistake", store=store)
    db_session.rollback()
    assert store.exists(key)
    assert download(db_session, vault, store, evidence.id)[1] == samples.png(padding=10_000)


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
