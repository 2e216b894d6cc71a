"""The evidence store: encrypted evidence files under opaque random names.

A stored file is the chunked AES-GCM stream of `incidents.crypto.stream`; the store sees
ciphertext only. Names are 256-bit random hex strings chosen by the store's caller with
`new_storage_key()`, never derived from a file name or any other input, and every name is
checked against that format before it comes near a path. A file written to the store
becomes visible only when its writer is closed successfully (written under a temporary
name, synced, then renamed), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, Self, runtime_checkable

from incidents.errors import ConfigurationError, IncidentsError
from incidents.storage.closing import KeptOnSuccess

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_KEY = re.compile(r"[0-9a-f]{64}")
_FOLDER = re.compile(r"[0-9a-f]{2}")
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
TEMPORARY_SUFFIX = ".partial"
# What _PendingFile writes to before its rename: ".<key>.<16 hex digits>.partial".
_TEMPORARY = re.compile(rf"\.([0-9a-f]{{64}})\.[0-9a-f]{{16}}{re.escape(TEMPORARY_SUFFIX)}")


@dataclass(frozen=True)
class StoredEntry:
    """A file in the store: complete (its name is its key) or a temporary (`temporary`)
    that an unfinished write left beside where its key's file would be."""

    name: str
    key: str
    modified: datetime
    temporary: bool


class InvalidStorageKey(IncidentsError):
    """A storage key that is not one the store made: refused before it touches a path."""


class StoredFileMissing(IncidentsError):
    """The store holds no file under the key a record names."""


def new_storage_key() -> str:
    """A fresh opaque name for a stored file (256 random bits, hex)."""
    return secrets.token_hex(32)


def check_storage_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidStorageKey("not an evidence storage key (expected 64 lowercase hex digits)")
    return key


class EvidenceWriter(Protocol):
    """A writable binary handle whose file appears in the store only when close() succeeds.

    discard() (or leaving the `with` block by an exception) removes what was written.
    """

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...

    def discard(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class EvidenceStore(Protocol):
    """Where encrypted evidence files are kept: a folder (below), or the database
    (incidents/storage/database_store.py)."""

    def open_write(self, key: str) -> EvidenceWriter: ...

    def open_read(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> bool: ...

    def exists(self, key: str) -> bool: ...


@runtime_checkable
class ListingEvidenceStore(EvidenceStore, Protocol):
    """A store that can list what it holds: for the sweep, the check, a restore and a move."""

    def entries(self) -> Iterator[StoredEntry]: ...

    def remove_entry(self, entry: StoredEntry) -> bool: ...

    def keys(self) -> Iterator[str]: ...


def stored_size(handle: BinaryIO) -> int:
    """The size in bytes of a file `open_read` returned: a database store's reader knows
    it; a file's descriptor tells it."""
    known = getattr(handle, "stored_size", None)
    if isinstance(known, int):
        return known
    return os.fstat(handle.fileno()).st_size


class _PendingFile(KeptOnSuccess):
    """A file being written under a temporary name beside its final one."""

    def __init__(self, final: Path) -> None:
        self._final = final
        self._temporary = final.with_name(f".{final.name}.{secrets.token_hex(8)}{TEMPORARY_SUFFIX}")
        descriptor = os.open(
            self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, FILE_MODE
        )
        self._handle = os.fdopen(descriptor, "wb")
        self._done = False

    def write(self, data: bytes, /) -> int:
        return self._handle.write(data)

    def close(self) -> None:
        """Make the file visible under its final name (durably), or remove it and raise."""
        if self._done:
            return
        self._done = True
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            if self._final.exists():  # names are random: only a bug could get here
                raise FileExistsError(f"the evidence store already holds {self._final.name}")
            os.replace(self._temporary, self._final)
        except BaseException:
            self._remove_temporary()
            raise
        _sync_folder(self._final.parent)

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        self._remove_temporary()

    def _remove_temporary(self) -> None:
        # Closing flushes what is still buffered, which fails again on a full disk: the
        # descriptor is closed all the same, and the temporary must go whatever it says.
        with contextlib.suppress(OSError):
            self._handle.close()
        self._temporary.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable; a no-op where folders cannot be opened (not POSIX)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class DirectoryEvidenceStore:
    """Files under `root` (mode 0700), two hex digits of fan-out, each file mode 0600."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            root.chmod(FOLDER_MODE)  # also when it existed with a looser mode
        except OSError as exc:
            raise ConfigurationError(
                f"evidence store {root} cannot be created: {exc.strerror}; "
                "set INCIDENTS_INSTANCE_PATH to a writable folder"
            ) from None

    def _path(self, key: str) -> Path:
        check_storage_key(key)
        return self.root / key[:2] / key

    def open_write(self, key: str) -> EvidenceWriter:
        path = self._path(key)
        path.parent.mkdir(mode=FOLDER_MODE, exist_ok=True)
        if path.exists():
            raise FileExistsError(f"the evidence store already holds {key}")
        return _PendingFile(path)

    def open_read(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            descriptor = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            raise StoredFileMissing(
                f"the evidence store has no file {key[:12]}… (restore it from a backup)"
            ) from None
        return os.fdopen(descriptor, "rb")

    def delete(self, key: str) -> bool:
        """Remove the file; False when there was none."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def entries(self) -> Iterator[StoredEntry]:
        """Every file the store made: complete ones and the temporaries of unfinished
        writes (a write killed before its rename leaves one), with when each was last
        written. Anything else in the folder is not the store's and is not listed."""
        for folder in sorted(self.root.iterdir()):
            if not (_FOLDER.fullmatch(folder.name) and folder.is_dir()):
                continue
            for path in sorted(folder.iterdir()):
                complete = _KEY.fullmatch(path.name)
                temporary = _TEMPORARY.fullmatch(path.name)
                if not (complete or temporary):
                    continue
                try:
                    modified = path.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:  # renamed or removed since the folder was read
                    continue
                key = complete.group(0) if complete else temporary.group(1)  # type: ignore[union-attr]
                yield StoredEntry(
                    path.name, key, datetime.fromtimestamp(modified, UTC), temporary is not None
                )

    def remove_entry(self, entry: StoredEntry) -> bool:
        """Remove a file `entries` listed; False when it was gone already."""
        if not (_KEY.fullmatch(entry.name) or _TEMPORARY.fullmatch(entry.name)):
            raise InvalidStorageKey("not a file of the evidence store")
        try:
            (self._path(entry.key).parent / entry.name).unlink()
        except FileNotFoundError:
            return False
        return True

    def keys(self) -> Iterator[str]:
        """The names of the complete files held (not those still being written)."""
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if _KEY.fullmatch(path.name):
                        yield path.name
