"""The directory evidence store (security check 28): opaque names only, private modes, files
that appear whole or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from incidents.errors import ConfigurationError
from incidents.settings import load_settings
from incidents.storage.store import (
    DirectoryEvidenceStore,
    InvalidStorageKey,
    StoredFileMissing,
    new_storage_key,
)


@pytest.fixture
def store(tmp_path: Path) -> DirectoryEvidenceStore:
    return DirectoryEvidenceStore(tmp_path / "evidence")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_keys_are_random_and_of_one_format() -> None:
    keys = {new_storage_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 64 and k == k.lower() for k in keys)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "IMG_2017-03-01.jpg",
        "a" * 63,
        "a" * 65,
        "A" * 64,
        "a" * 63 + "/",
        "a" * 64 + "\n",
        "..",
        "",
    ],
)
def test_anything_but_a_store_key_is_refused_before_it_reaches_a_path(
    store: DirectoryEvidenceStore, key: str
) -> None:
    for operation in (store.open_write, store.open_read, store.delete, store.exists):
        with pytest.raises(InvalidStorageKey):
            operation(key)
    assert every_file(store.root) == []


def test_folders_are_private_and_files_owner_only(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    store = DirectoryEvidenceStore(root)
    assert mode(root) == 0o700  # a looser folder is tightened
    key = new_storage_key()
    with store.open_write(key) as handle:
        handle.write(b"ciphertext")
    (path,) = every_file(root)
    assert path.name == key
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_a_file_is_visible_only_once_its_writer_closes(store: DirectoryEvidenceStore) -> None:
    key = new_storage_key()
    handle = store.open_write(key)
    handle.write(b"first half")
    assert not store.exists(key)
    assert list(store.keys()) == []
    with pytest.raises(StoredFileMissing):
        store.open_read(key)
    handle.write(b", second half")
    handle.close()
    assert store.exists(key)
    assert list(store.keys()) == [key]
    with store.open_read(key) as reader:
        assert reader.read() == b"first half, second half"
    assert [p.name for p in every_file(store.root)] == [key]  # no temporary file left


def test_a_writer_left_by_an_exception_leaves_nothing(store: DirectoryEvidenceStore) -> None:
    key = new_storage_key()
    with pytest.raises(RuntimeError), store.open_write(key) as handle:
        handle.write(b"partial")
        raise RuntimeError("disk full")
    assert not store.exists(key)
    assert every_file(store.root) == []


def test_a_discarded_writer_leaves_nothing(store: DirectoryEvidenceStore) -> None:
    handle = store.open_write(new_storage_key())
    handle.write(b"partial")
    handle.discard()
    handle.close()  # closing after discarding publishes nothing
    assert every_file(store.root) == []


def test_an_existing_file_is_never_overwritten(store: DirectoryEvidenceStore) -> None:
    key = new_storage_key()
    with store.open_write(key) as handle:
        handle.write(b"original")
    with pytest.raises(FileExistsError):
        store.open_write(key)
    with store.open_read(key) as reader:
        assert reader.read() == b"original"


def test_delete(store: DirectoryEvidenceStore) -> None:
    key = new_storage_key()
    with store.open_write(key) as handle:
        handle.write(b"x")
    assert store.delete(key) is True
    assert not store.exists(key)
    assert store.delete(key) is False


def test_a_folder_that_cannot_be_made_stops_start_up_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match="evidence store"):
        DirectoryEvidenceStore(blocker / "evidence")


def test_evidence_settings_defaults_and_bounds() -> None:
    mib = 1024 * 1024
    settings = load_settings(environ={})
    assert settings.evidence_max_bytes == 200 * mib
    assert settings.evidence_chunk_bytes == mib
    for refused in (1024, 64 * mib):
        with pytest.raises(ConfigurationError, match="evidence_chunk_bytes"):
            load_settings({"evidence_chunk_bytes": refused}, environ={})
    chosen = load_settings(environ={"INCIDENTS_EVIDENCE_MAX_BYTES": "1000"})
    assert chosen.evidence_max_bytes == 1000
