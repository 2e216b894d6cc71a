"""Chunked AES-256-GCM streams: files encrypted in fixed-size chunks, each authenticated alone.

Layout: a header (magic, format version, chunk size), then the chunks, each stored as
`nonce | ciphertext and tag`. Every chunk but the last holds exactly `chunk size` bytes of
plaintext; the last holds 0 to `chunk size` bytes and is flagged as the last one.

Each chunk's associated data names its purpose, the envelope format version, the whole
header, the file's id, the chunk's index and whether it is the last chunk (length-prefixed
by `envelope.associated_data`). So a chunk that is altered, moved to another position,
repeated, dropped, taken from another file, or a file cut short at a chunk boundary (its
new final chunk was not sealed as the last one), all fail to decrypt. A chunk is released
only after its tag has been checked; memory holds about two chunks, whatever the size of
the file. Imports nothing from Flask.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto import envelope
from incidents.errors import DecryptionError

MAGIC = b"INCEVID\x00"
STREAM_VERSION = 1
_HEADER = struct.Struct(">8sBI")  # magic, format version, chunk size
HEADER_BYTES = _HEADER.size
DEFAULT_CHUNK_BYTES = 1024 * 1024
# The chunk size is read from the header before anything is authenticated: bound it, so a
# damaged header cannot make a reader allocate gigabytes.
MAX_CHUNK_BYTES = 64 * 1024 * 1024
CHUNK_OVERHEAD = envelope.NONCE_BYTES + envelope.TAG_BYTES

EVIDENCE_PURPOSE = "incidents/evidence-chunk"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def encode_header(chunk_size: int) -> bytes:
    _check_chunk_size(chunk_size)
    return _HEADER.pack(MAGIC, STREAM_VERSION, chunk_size)


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk size must be between 1 and {MAX_CHUNK_BYTES} bytes")


def chunk_aad(purpose: str, header: bytes, file_id: object, index: int, last: bool) -> bytes:
    return envelope.associated_data(
        purpose, header.hex(), file_id, index, "last" if last else "more"
    )


def encrypted_size(plaintext_bytes: int, chunk_size: int = DEFAULT_CHUNK_BYTES) -> int:
    """Bytes a stream of `plaintext_bytes` takes once encrypted (header included)."""
    chunks = max(1, -(-plaintext_bytes // chunk_size))
    return HEADER_BYTES + chunks * CHUNK_OVERHEAD + plaintext_bytes


class StreamEncryptor:
    """Encrypts what is written to it into `target`, chunk by chunk; finish() seals the last.

    A chunk is written out only once more data follows it, so the last chunk — the one
    flagged as last — is known for certain when finish() is called.
    """

    def __init__(
        self,
        cipher: AESGCM,
        file_id: object,
        target: Writable,
        chunk_size: int = DEFAULT_CHUNK_BYTES,
        purpose: str = EVIDENCE_PURPOSE,
    ) -> None:
        self._header = encode_header(chunk_size)
        self._cipher = cipher
        self._file_id = file_id
        self._target = target
        self._chunk_size = chunk_size
        self._purpose = purpose
        self._buffer = bytearray()
        self._index = 0
        self._finished = False
        self.plaintext_bytes = 0
        target.write(self._header)

    def write(self, data: bytes) -> int:
        if self._finished:
            raise ValueError("the stream is finished")
        self._buffer += data
        self.plaintext_bytes += len(data)
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def finish(self) -> None:
        """Seal what is left as the last chunk (an empty one for an empty stream)."""
        if self._finished:
            return
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._finished = True

    def _emit(self, plaintext: bytes, *, last: bool) -> None:
        aad = chunk_aad(self._purpose, self._header, self._file_id, self._index, last)
        nonce = envelope.new_nonce()
        self._target.write(nonce + self._cipher.encrypt(nonce, plaintext, aad))
        self._index += 1


def encrypt_stream(
    cipher: AESGCM,
    file_id: object,
    source: Readable,
    target: Writable,
    chunk_size: int = DEFAULT_CHUNK_BYTES,
    purpose: str = EVIDENCE_PURPOSE,
) -> int:
    """Encrypt all of `source` into `target`; return the number of plaintext bytes."""
    encryptor = StreamEncryptor(cipher, file_id, target, chunk_size, purpose)
    while data := source.read(chunk_size):
        encryptor.write(data)
    encryptor.finish()
    return encryptor.plaintext_bytes


def read_full(source: Readable, size: int) -> bytes:
    """Up to `size` bytes; fewer only at the end of the stream (reads may return short)."""
    data = source.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing:
        more = source.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _read_header(source: Readable, what: str) -> tuple[bytes, int]:
    header = read_full(source, HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise DecryptionError(f"{what}: the encrypted file is truncated (no complete header)")
    magic, version, chunk_size = _HEADER.unpack(header)
    if magic != MAGIC:
        raise DecryptionError(f"{what}: not an encrypted evidence file (wrong header)")
    if version != STREAM_VERSION:
        raise DecryptionError(f"{what}: unknown encrypted file format version {version}")
    if not 1 <= chunk_size <= MAX_CHUNK_BYTES:
        raise DecryptionError(f"{what}: the header names an impossible chunk size {chunk_size}")
    return header, chunk_size


def decrypt_stream(
    cipher: AESGCM,
    file_id: object,
    source: Readable,
    what: str,
    purpose: str = EVIDENCE_PURPOSE,
) -> Iterator[bytes]:
    """Yield the plaintext chunks of `source`, each only after it authenticates.

    Raises DecryptionError naming `what` for a damaged header, a file cut short, a chunk
    altered, reordered, repeated, removed or taken from another file, or data after the
    last chunk. Chunks yielded before the failing one were authentic; the failing one is
    never yielded.
    """
    header, chunk_size = _read_header(source, what)
    record_size = chunk_size + CHUNK_OVERHEAD
    current = read_full(source, record_size)
    if not current:
        raise DecryptionError(f"{what}: the encrypted file is truncated (it has no chunks)")
    index = 0
    while True:
        # Only a full-size record can be followed by another; looking one ahead tells
        # whether this chunk must be the last one.
        following = read_full(source, record_size) if len(current) == record_size else b""
        last = not following
        yield _open_chunk(cipher, purpose, header, file_id, index, last, current, what)
        if last:
            return
        current = following
        index += 1


def _open_chunk(
    cipher: AESGCM,
    purpose: str,
    header: bytes,
    file_id: object,
    index: int,
    last: bool,
    record: bytes,
    what: str,
) -> bytes:
    if len(record) < CHUNK_OVERHEAD:
        raise DecryptionError(f"{what}: the encrypted file is truncated inside chunk {index}")
    nonce, sealed = record[: envelope.NONCE_BYTES], record[envelope.NONCE_BYTES :]
    try:
        return cipher.decrypt(nonce, sealed, chunk_aad(purpose, header, file_id, index, last))
    except InvalidTag:
        pass
    if last and _authenticates(
        cipher, nonce, sealed, chunk_aad(purpose, header, file_id, index, False)
    ):
        raise DecryptionError(
            f"{what}: the encrypted file is truncated (chunk {index} is not the last one; "
            "the rest of the file is missing)"
        ) from None
    raise DecryptionError(
        f"{what}: chunk {index} of the encrypted file does not authenticate "
        "(altered, reordered, repeated, removed, or from another file)"
    ) from None


def _authenticates(cipher: AESGCM, nonce: bytes, sealed: bytes, aad: bytes) -> bool:
    """Whether the chunk opens under `aad`; the plaintext is dropped (diagnosis only)."""
    try:
        cipher.decrypt(nonce, sealed, aad)
    except InvalidTag:
        return False
    return True
