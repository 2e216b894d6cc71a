"""A temporary file for uploads whose content is encrypted under a key held only in memory.

A web server spools an uploaded file to a temporary file while it reads the request;
without this, every upload larger than a few hundred kilobytes would sit in plaintext
in the system's temporary folder until the request ends (and in its disk blocks after).
The spool encrypts what it is given with a random key that never leaves this object, in
the chunked format of `incidents.crypto.stream`, and decrypts it again when read.
Imports nothing from Flask.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto.stream import StreamEncryptor, decrypt_stream
from incidents.storage.closing import ClosesOnExit

SPOOL_PURPOSE = "incidents/upload-spool"
SPOOL_CHUNK_BYTES = 64 * 1024


class EncryptedSpool(ClosesOnExit):
    """Write once, rewind with seek(0), then read: the file-like object upload parsers need."""

    def __init__(
        self, chunk_size: int = SPOOL_CHUNK_BYTES, backing: BinaryIO | None = None
    ) -> None:
        """`backing` is where the ciphertext goes: an anonymous temporary file by default."""
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        self._id = uuid.uuid4()
        if backing is None:
            backing = tempfile.TemporaryFile()  # noqa: SIM115 — the spool's close() closes it
        self._file = backing
        self._encryptor: StreamEncryptor | None = StreamEncryptor(
            self._cipher, self._id, self._file, chunk_size, SPOOL_PURPOSE
        )
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self._position = 0

    def write(self, data: bytes, /) -> int:
        if self._encryptor is None:
            raise io.UnsupportedOperation("the spool has been rewound for reading")
        return self._encryptor.write(bytes(data))

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        """Only rewinding is possible: seek(0) ends writing and starts reading from the top."""
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("an encrypted spool can only be rewound")
        if self._encryptor is not None:
            self._encryptor.finish()
            self._encryptor = None
        self._file.seek(0)
        self._chunks = decrypt_stream(self._cipher, self._id, self._file, "upload", SPOOL_PURPOSE)
        self._buffer = b""
        self._position = 0
        return 0

    def tell(self) -> int:
        if self._encryptor is not None:
            return self._encryptor.plaintext_bytes
        return self._position

    def read(self, size: int = -1, /) -> bytes:
        if self._chunks is None:
            raise io.UnsupportedOperation("rewind the spool with seek(0) before reading")
        wanted = None if size is None or size < 0 else size
        while wanted is None or len(self._buffer) < wanted:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if wanted is None:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        self._position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._encryptor is not None

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()
        self._buffer = b""
