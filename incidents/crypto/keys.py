"""Master keys (key-encryption keys) and the providers that hold them.

Master keys never live in the database or the repository. A provider holds one or more
keys, each with an id, and names one primary for new wraps. Providers here read a key
file or an environment variable; a KMS or Vault provider implements the same protocol.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import glob
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from incidents.errors import MasterKeyError

KEY_BYTES = 32
KEY_FILE_FORMAT = "incidents-master-keys/1"
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MasterKey:
    """One key-encryption key. `development` marks keys made for a development instance."""

    key_id: str
    material: bytes = field(repr=False)
    development: bool = False

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise MasterKeyError(
                f"master key id {self.key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if len(self.material) != KEY_BYTES:
            raise MasterKeyError(
                f"master key {self.key_id!r} has {len(self.material)} bytes; it needs {KEY_BYTES}"
            )


class KeyProvider(Protocol):
    """What the envelope layer needs from wherever master keys are kept.

    A KMS or Vault provider implements these three methods. Master key material is used
    only by `envelope.wrap_data_key` and `envelope.unwrap_data_key`; a provider whose
    keys never leave the KMS (Vault transit, a cloud KMS) replaces those two calls with
    remote wrap/unwrap requests, and nothing else changes.
    """

    def primary(self) -> MasterKey:
        """The key used to wrap new data keys."""
        ...

    def get(self, key_id: str) -> MasterKey:
        """The key with this id; MasterKeyError if this provider does not hold it."""
        ...

    def key_ids(self) -> list[str]:
        """Every key id held, primary first."""
        ...


class StaticKeyProvider:
    """Keys held in memory, loaded once from a file or the environment."""

    def __init__(self, keys: Iterable[MasterKey], primary_id: str, origin: str) -> None:
        self._keys: dict[str, MasterKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                # Silently keeping one of two keys with the same id could make the primary
                # a different key from the one the operator put first.
                raise MasterKeyError(f"{origin}: key id {key.key_id!r} appears more than once")
            self._keys[key.key_id] = key
        self.origin = origin
        if primary_id not in self._keys:
            raise MasterKeyError(f"{origin}: primary key {primary_id!r} is not among its keys")
        self._primary_id = primary_id

    def primary(self) -> MasterKey:
        return self._keys[self._primary_id]

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise MasterKeyError(
                f"master key {key_id!r} is not held by {self.origin}; "
                "add it back to the key file or environment"
            ) from None

    def key_ids(self) -> list[str]:
        others = sorted(k for k in self._keys if k != self._primary_id)
        return [self._primary_id, *others]

    @property
    def is_development(self) -> bool:
        return any(key.development for key in self._keys.values())


FileState = tuple[int, int, int]  # inode, modification time (ns), size


def file_state(path: Path) -> FileState | None:
    """What changes when a key file is replaced (written whole and renamed into place)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class KeyFileProvider(StaticKeyProvider):
    """Keys from a key file, which `add_primary` and `remove` rewrite atomically."""

    def __init__(
        self,
        keys: Iterable[MasterKey],
        primary_id: str,
        path: Path,
        read_from: FileState | None = None,
    ) -> None:
        super().__init__(keys, primary_id, f"master key file {path}")
        self.path = path
        self.read_from = read_from  # the file as it was before these keys were read

    def _keys_in_order(self) -> list[MasterKey]:
        return [self._keys[key_id] for key_id in self.key_ids()]

    def add_primary(self, key: MasterKey) -> KeyFileProvider:
        """Write `key` into the file as the new primary; return the provider for the new file."""
        if key.key_id in self._keys:
            raise MasterKeyError(f"{self.origin} already holds a key {key.key_id!r}")
        write_key_file(self.path, [*self._keys_in_order(), key], key.key_id)
        return load_key_file(self.path)

    def remove(self, key_id: str) -> KeyFileProvider:
        """Drop `key_id` from the file (never the primary); return the provider for the new file."""
        self.get(key_id)
        if key_id == self._primary_id:
            raise MasterKeyError(f"{key_id} is the primary key; add a new primary first")
        remaining = [key for key in self._keys_in_order() if key.key_id != key_id]
        write_key_file(self.path, remaining, self._primary_id)
        return load_key_file(self.path)


def new_key_id() -> str:
    """A readable, unique id: creation date plus random suffix."""
    return f"mk-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


def generate_master_key(*, development: bool = False) -> MasterKey:
    return MasterKey(new_key_id(), secrets.token_bytes(KEY_BYTES), development)


def _decode_material(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{where}: key material is not valid base64") from None


def _master_key(key_id: str, material: bytes, where: str, development: bool = False) -> MasterKey:
    """A MasterKey whose errors also say where the key came from (file or variable)."""
    try:
        return MasterKey(key_id, material, development)
    except MasterKeyError as exc:
        raise MasterKeyError(f"{where}: {exc}") from None


def load_key_file(path: Path) -> KeyFileProvider:
    """Read a key file written by write_key_file; raise MasterKeyError with one clear line."""
    # Taken before reading: a file replaced in between is then seen as changed, and read
    # again, rather than its new keys missed.
    state = file_state(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist") from None
    except OSError as exc:
        raise MasterKeyError(f"master key file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MasterKeyError(f"master key file {path} is not a key file (not UTF-8 text)") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise MasterKeyError(
            f"master key file {path} is not a key file (truncated or not JSON)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise MasterKeyError(f"master key file {path} is not in format {KEY_FILE_FORMAT}")
    entries = document.get("keys")
    primary = document.get("primary")
    if not isinstance(entries, list) or not entries or not isinstance(primary, str):
        raise MasterKeyError(f"master key file {path} lists no keys or no primary key")
    keys = []
    for index, entry in enumerate(entries):
        where = f"master key file {path}, key {index + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise MasterKeyError(f"{where}: each key needs an id and key material")
        material = _decode_material(str(entry.get("key", "")), where)
        development = entry.get("development", False)
        if not isinstance(development, bool):
            raise MasterKeyError(f"{where}: 'development' must be true or false")
        keys.append(_master_key(entry["id"], material, where, development))
    return KeyFileProvider(keys, primary, path, state)


def reloaded_if_changed(provider: KeyFileProvider) -> KeyFileProvider:
    """The provider for the key file as it is now: `provider` itself while the file is
    unchanged, a fresh one once another process (`keys rotate`, `keys retire`) replaced
    it — so a running server wraps new data keys under the new primary at once.

    A file that cannot be read now, or that would bring a development key into an
    installation that had none, leaves the keys already held (and is tried again on the
    next call): a server does not lose its keys to a bad edit of the file.
    """
    if file_state(provider.path) == provider.read_from:
        return provider
    try:
        fresh = load_key_file(provider.path)
    except MasterKeyError as exc:
        log.warning("keeping the master keys already loaded: %s", exc)
        return provider
    if fresh.is_development and not provider.is_development:
        log.warning(
            "keeping the master keys already loaded: %s now holds a development key",
            provider.origin,
        )
        return provider
    return fresh


def write_key_file(path: Path, keys: Iterable[MasterKey], primary_id: str) -> None:
    """Write keys to `path` readable by the owner only (0600), replacing it atomically."""
    document = {
        "format": KEY_FILE_FORMAT,
        "primary": primary_id,
        "keys": [
            {
                "id": key.key_id,
                "key": base64.b64encode(key.material).decode("ascii"),
                **({"development": True} if key.development else {}),
            }
            for key in keys
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # A write killed before its rename left a temporary: it holds the keys of this file
    # and at most one new key that never became the file, so nothing uses it.
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable; a no-op where folders cannot be opened (not POSIX)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def parse_key_variable(value: str, name: str = "INCIDENTS_MASTER_KEY") -> StaticKeyProvider:
    """Parse "id:base64[,id:base64...]"; the first key is the primary."""
    keys = []
    for index, item in enumerate(part.strip() for part in value.split(",")):
        key_id, separator, text = item.partition(":")
        if not separator:
            raise MasterKeyError(f"{name}: entry {index + 1} must look like id:base64key")
        where = f"{name}, key {key_id!r}"
        keys.append(_master_key(key_id, _decode_material(text, where), where))
    return StaticKeyProvider(keys, keys[0].key_id, name)
