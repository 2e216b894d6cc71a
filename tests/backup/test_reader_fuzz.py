"""The archive reader under mutated archives: never a crash, never a byte it did not
authenticate. Whatever is changed — a byte flipped, the file cut short, bytes removed,
inserted or repeated — reading ends in one BackupError, and everything the reader handed
on before it stopped is exactly what the intact archive hands on first."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.audit.signing import Verifier
from incidents.crypto.keys import KeyProvider
from incidents.extensions import audit_signer
from incidents.services.backup.archive import BackupError
from incidents.services.backup.manifest import ContentHeader
from incidents.services.backup.reader import read_archive
from incidents.services.backup.tables import TableLayout
from tests.backup.worlds import backup_here
from tests.faults.world import build_world

pytestmark = pytest.mark.slow

CHUNK = 512  # small chunks: a mutation can land in any of dozens


@dataclass
class _Recorder:
    """Everything the reader hands on, in order."""

    events: list[tuple[Any, ...]] = field(default_factory=list)

    def begin(self, header: ContentHeader) -> None:
        self.events.append(("begin", header.encode()))

    def rows(self, layout: TableLayout, rows: list[dict[str, Any]]) -> None:
        self.events.append(("rows", layout.name, repr(rows)))

    def evidence(self, key: str, size: int, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            self.events.append(("file", key, chunk))


@dataclass(frozen=True)
class _Reading:
    archive: bytes
    keys: KeyProvider
    verifier: Verifier
    origin: str
    events: list[tuple[Any, ...]]

    def read(self, data: bytes, recorder: _Recorder) -> None:
        read_archive(io.BytesIO(data), self.keys, self.verifier, self.origin, recorder, "fuzzed")


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> _Reading:
    world = build_world(tmp_path_factory.mktemp("fuzz") / "world", "sqlite", cases=1, evidence=1)
    target = io.BytesIO()
    backup_here(world, target, chunk_size=CHUNK)
    with world.context() as ctx:
        keys, verifier, origin = ctx.keys, audit_signer().verifier, ctx.settings.audit_log_origin
    archive = target.getvalue()
    intact = _Recorder()
    _Reading(archive, keys, verifier, origin, []).read(archive, intact)
    return _Reading(archive, keys, verifier, origin, intact.events)


def test_the_intact_archive_reads_whole(reading: _Reading) -> None:
    kinds = {event[0] for event in reading.events}
    assert kinds == {"begin", "rows", "file"}
    assert len(reading.archive) > 20 * CHUNK


@st.composite
def _mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "cut", "remove", "insert", "repeat"]))
        if how == "flip" and data:
            data[where] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[where:]
        elif how == "remove":
            del data[where : where + draw(st.integers(1, 2 * CHUNK))]
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=64))
        elif how == "repeat":
            data[where:where] = data[where : where + draw(st.integers(1, 2 * CHUNK))]
    return bytes(data)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_mutated_archive_is_refused_and_nothing_unauthenticated_gets_out(
    reading: _Reading, data: st.DataObject
) -> None:
    mutated = data.draw(_mutated(reading.archive))
    if mutated == reading.archive:
        return
    recorder = _Recorder()
    with pytest.raises(BackupError):
        reading.read(mutated, recorder)
    assert recorder.events == reading.events[: len(recorder.events)]


def test_an_empty_or_foreign_file_is_refused(reading: _Reading, tmp_path: Path) -> None:
    for data in (b"", b"INCBAK", b"PK\x03\x04 not a backup", reading.archive[:40]):
        with pytest.raises(BackupError):
            reading.read(data, _Recorder())
