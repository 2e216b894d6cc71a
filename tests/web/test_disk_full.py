"""An evidence upload onto a store that runs out of space: a clear page saying nothing was
saved (the description typed is kept in the form), no evidence row, no audit event, no
half-written file left in the store, and the evidence stored before still downloads.

The store is a folder on a tmpfs of 256 KiB where this process may mount one (as root);
elsewhere it is a store whose writes fail with ENOSPC past the same size, as a full disk's
do.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.extensions import EVIDENCE_STORE
from incidents.models import Evidence, Report, User
from incidents.storage.store import DirectoryEvidenceStore, EvidenceWriter
from tests import samples
from tests.factories import ReportFactory
from tests.helpers import count_events
from tests.web.conftest import World
from tests.web.test_evidence_pages import upload

ROOM = 256 * 1024


class _WriterWithoutRoom:
    """A store writer whose disk fills up after `room` bytes (where tmpfs cannot be had)."""

    def __init__(self, inner: EvidenceWriter, room: int) -> None:
        self._inner, self._room = inner, room

    def write(self, data: bytes, /) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._inner.write(data)

    def close(self) -> None:
        self._inner.close()

    def discard(self) -> None:
        self._inner.discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


class _StoreWithoutRoom(DirectoryEvidenceStore):
    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def open_write(self, key: str) -> EvidenceWriter:
        writer = _WriterWithoutRoom(super().open_write(key), self.room)
        return writer


def _mount_tmpfs(folder: Path) -> bool:
    folder.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={ROOM},mode=0700", "tmpfs", str(folder)],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return mounted.returncode == 0


@pytest.fixture
def small_store(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The application's evidence store replaced by one with 256 KiB of room."""
    folder = tmp_path / "small-store"
    mounted = _mount_tmpfs(folder)
    store = DirectoryEvidenceStore(folder) if mounted else _StoreWithoutRoom(folder, ROOM)
    monkeypatch.setitem(app.extensions, EVIDENCE_STORE, store)
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], capture_output=True, timeout=10, check=False)


def _evidence_of(session: Session, report: Report) -> int:
    statement = select(func.count()).select_from(Evidence).where(Evidence.report_id == report.id)
    return session.scalar(statement) or 0


def test_an_upload_onto_a_full_disk_is_refused_clearly_and_leaves_nothing(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    db_session: Session,
    small_store: Path,
) -> None:
    as_role("researcher")
    report: Report = ReportFactory(team_id=world.team.id)
    page = f"/reports/{report.reference}"
    earlier = samples.png(padding=20_000)
    assert upload(client, report, earlier, "first.png", page=page).status_code == 302
    received = count_events(db_session, AuditAction.EVIDENCE_RECEIVED)

    answer = upload(
        client, report, samples.png(padding=600_000), "large.png", "The checkpoint", page=page
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 507
    assert "Not enough disk space to store the file; nothing was saved" in text
    assert "The checkpoint" in text  # the description typed is still in the form
    assert _evidence_of(db_session, report) == 1
    assert count_events(db_session, AuditAction.EVIDENCE_RECEIVED) == received
    files = [p for p in small_store.rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.endswith(".partial"), files

    first = db_session.scalars(select(Evidence).where(Evidence.report_id == report.id)).one()
    download = client.get(f"/evidence/{first.id}/download")
    assert download.status_code == 200 and download.data == earlier
