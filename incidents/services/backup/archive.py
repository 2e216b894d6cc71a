"""The backup container: a plaintext header, then one chunked AEAD stream of a tar stream.

Layout: the magic `INCBAK\\x00\\x01`, a two-byte length, and a JSON header naming the
format, the master key the archive key derives from and the random salt; then the
chunked AES-256-GCM stream of incidents/crypto/stream.py, under its own purpose, whose
plaintext is a tar stream. The archive key is HKDF-SHA256 of the master key's material,
salted per archive and labelled for backups alone, so no other key of the installation
(data keys, blind-index keys) ever equals it, and the master key itself is never inside.

Every chunk's associated data carries the SHA-256 of the header, so a changed salt,
key id or format fails the first chunk; the stream itself refuses chunks altered,
reordered, dropped, repeated or cut short. Plaintext is released a chunk at a time, and
only after that chunk authenticated.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from incidents.crypto.keys import KeyProvider, MasterKey
from incidents.crypto.stream import (
    DEFAULT_CHUNK_BYTES,
    StreamEncryptor,
    Writable,
    decrypt_stream,
    read_full,
)
from incidents.errors import DecryptionError, IncidentsError, MasterKeyError

MAGIC = b"INCBAK\x00\x01"
FORMAT = "incidents-backup/1"
BACKUP_PURPOSE = "incidents/backup-chunk"
KEY_LABEL = b"incidents/backup-archive-key/1"
SALT_BYTES = 32
_LENGTH = struct.Struct(">H")
MAX_HEADER_BYTES = 4096  # a damaged length cannot make a reader allocate much


class BackupError(IncidentsError):
    """A backup cannot be written, read, verified or restored; the message says why."""


@dataclass(frozen=True)
class ArchiveHeader:
    master_key_id: str
    salt: bytes

    def encode(self) -> bytes:
        document = {
            "format": FORMAT,
            "kdf": "HKDF-SHA256",
            "master_key_id": self.master_key_id,
            "salt": self.salt.hex(),
        }
        text = json.dumps(document, sort_keys=True).encode("ascii")
        return MAGIC + _LENGTH.pack(len(text)) + text

    @property
    def stream_id(self) -> str:
        """What binds every chunk to this header: the header's own hash."""
        return hashlib.sha256(self.encode()).hexdigest()


def archive_key(master: MasterKey, salt: bytes) -> AESGCM:
    """The archive's AEAD key: derived for backups alone, from `master` and this salt."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=KEY_LABEL + b"|" + master.key_id.encode("ascii"),
    ).derive(master.material)
    return AESGCM(derived)


def read_header(source: BinaryIO, what: str) -> ArchiveHeader:
    """The plaintext header; BackupError for anything that is not one."""
    start = read_full(source, len(MAGIC) + _LENGTH.size)
    if len(start) < len(MAGIC) + _LENGTH.size or start[: len(MAGIC)] != MAGIC:
        raise BackupError(f"{what} is not an Incidents backup archive (wrong header)")
    (length,) = _LENGTH.unpack(start[len(MAGIC) :])
    if length > MAX_HEADER_BYTES:
        raise BackupError(f"{what}: the archive header is damaged (impossible length)")
    text = read_full(source, length)
    try:
        document = json.loads(text.decode("ascii"))
        header = ArchiveHeader(str(document["master_key_id"]), bytes.fromhex(document["salt"]))
        known = document["format"] == FORMAT and document["kdf"] == "HKDF-SHA256"
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise BackupError(f"{what}: the archive header is damaged (not readable)") from None
    if not known:
        raise BackupError(f"{what}: unknown archive format {document.get('format')!r}")
    if header.encode() != start + text:  # only the canonical form, so its hash is unique
        raise BackupError(f"{what}: the archive header is damaged (not in canonical form)")
    return header


class EncryptingWriter:
    """A writable for tarfile: everything written is sealed into the archive's stream."""

    def __init__(self, target: Writable, keys: KeyProvider, chunk_size: int) -> None:
        master = keys.primary()
        self.header = ArchiveHeader(master.key_id, secrets.token_bytes(SALT_BYTES))
        target.write(self.header.encode())
        self._stream = StreamEncryptor(
            archive_key(master, self.header.salt),
            self.header.stream_id,
            target,
            chunk_size,
            BACKUP_PURPOSE,
        )

    def write(self, data: bytes) -> int:
        return self._stream.write(bytes(data))

    def finish(self) -> None:
        self._stream.finish()


def encrypting_writer(
    target: Writable, keys: KeyProvider, chunk_size: int = DEFAULT_CHUNK_BYTES
) -> EncryptingWriter:
    return EncryptingWriter(target, keys, chunk_size)


class DecryptingReader:
    """A readable for tarfile over the archive's authenticated plaintext.

    Bytes come only from chunks whose tag checked out; a chunk that fails raises
    BackupError before any of it is returned. `exhausted` tells whether the stream's
    sealed last chunk was reached (an archive cut short never reaches it).
    """

    def __init__(self, source: BinaryIO, keys: KeyProvider, what: str) -> None:
        self.what = what
        header = read_header(source, what)
        try:
            master = keys.get(header.master_key_id)
        except MasterKeyError:
            raise BackupError(
                f"{what} is encrypted under master key {header.master_key_id}, which this "
                "installation does not hold (retired, or another installation's key)"
            ) from None
        self.header = header
        self._chunks: Iterator[bytes] = decrypt_stream(
            archive_key(master, header.salt), header.stream_id, source, what, BACKUP_PURPOSE
        )
        self._buffer = b""
        self._offset = 0
        self.exhausted = False

    def _next_chunk(self) -> bool:
        try:
            self._buffer = next(self._chunks)
        except StopIteration:
            self.exhausted = True
            return False
        except DecryptionError as exc:
            raise BackupError(f"{_archive_message(exc, self.what)}") from None
        self._offset = 0
        return True

    def read(self, size: int = -1, /) -> bytes:
        parts: list[bytes] = []
        wanted = size if size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._buffer) and not self._next_chunk():
                break
            end = len(self._buffer) if wanted is None else self._offset + wanted
            piece = self._buffer[self._offset : end]
            self._offset += len(piece)
            parts.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(parts)

    def drain(self) -> None:
        """Read (and authenticate) whatever is left, up to the sealed last chunk."""
        while self._next_chunk():
            pass


def _archive_message(exc: DecryptionError, what: str) -> str:
    text = str(exc).replace("the encrypted file", "the archive")
    if "chunk 0 " in text:
        text += "; or the archive was made with another key of the same id"
    return text if text.startswith(what) else f"{what}: {text}"
