"""Chunked AES-GCM streams for evidence files (security checks 4, 5): round trips from
empty to 50 MB, every way of damaging a stream refused without releasing a wrong chunk,
bounded memory, and the encrypted upload spool."""

from __future__ import annotations

import hashlib
import io
import secrets
import tracemalloc
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.crypto import stream
from incidents.crypto.stream import (
    CHUNK_OVERHEAD,
    DEFAULT_CHUNK_BYTES,
    HEADER_BYTES,
    StreamEncryptor,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
)
from incidents.errors import DecryptionError
from incidents.storage.spool import EncryptedSpool

PROPERTY = settings(database=None, deadline=None, max_examples=100)
CIPHER = AESGCM(AESGCM.generate_key(bit_length=256))
FILE_ID = uuid.uuid4()
WHAT = "evidence 1234 of RPT-2017-0003"
SMALL = 16  # a small chunk size, so that a few dozen bytes make several chunks
MB = 1024 * 1024


def encrypt(data: bytes, chunk_size: int = SMALL, file_id: object = FILE_ID) -> bytes:
    target = io.BytesIO()
    encrypt_stream(CIPHER, file_id, io.BytesIO(data), target, chunk_size)
    return target.getvalue()


def decrypt(sealed: bytes, file_id: object = FILE_ID, cipher: AESGCM = CIPHER) -> bytes:
    return b"".join(decrypt_stream(cipher, file_id, io.BytesIO(sealed), WHAT))


def records(sealed: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    """The header and the chunk records of a stream (the last one possibly short)."""
    size = chunk_size + CHUNK_OVERHEAD
    body = sealed[HEADER_BYTES:]
    return sealed[:HEADER_BYTES], [body[i : i + size] for i in range(0, len(body), size)]


def released_before_failure(sealed: bytes) -> tuple[list[bytes], DecryptionError]:
    """The chunks a reader got before the stream failed, and the failure."""
    released: list[bytes] = []
    with pytest.raises(DecryptionError) as failure:
        for chunk in decrypt_stream(CIPHER, FILE_ID, io.BytesIO(sealed), WHAT):
            released.append(chunk)
    return released, failure.value


class Trickle:
    """A source whose reads return fewer bytes than asked (as sockets and pipes do)."""

    def __init__(self, data: bytes, most: int) -> None:
        self._data = io.BytesIO(data)
        self._most = most

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(self._most, size) if size >= 0 else self._most)


class Generated:
    """`size` pseudo-random bytes made on the fly, never held whole in memory."""

    def __init__(self, size: int, seed: bytes = b"seed") -> None:
        self._left = size
        self._block = hashlib.sha512(seed).digest() * 2048  # 128 KiB, repeated with a twist
        self._counter = 0

    def read(self, size: int = -1, /) -> bytes:
        size = min(self._left if size < 0 else size, self._left, len(self._block))
        self._counter += 1
        data = self._counter.to_bytes(8, "big") + self._block[8:size]
        self._left -= size
        return data[:size]


class HashingSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


# -- round trips (security check 5) -----------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 5 * SMALL + 7],
    ids=["empty", "one byte", "under a chunk", "one chunk", "over a chunk", "two", "several"],
)
def test_round_trip(size: int) -> None:
    data = secrets.token_bytes(size)
    sealed = encrypt(data)
    assert decrypt(sealed) == data
    assert len(sealed) == encrypted_size(size, SMALL)
    _, chunks = records(sealed)
    assert len(chunks) == max(1, -(-size // SMALL))  # an exact multiple adds no empty chunk


def test_round_trip_with_the_default_chunk_size_across_chunk_boundaries() -> None:
    data = secrets.token_bytes(3 * DEFAULT_CHUNK_BYTES + 1)
    sealed = encrypt(data, DEFAULT_CHUNK_BYTES)
    chunks = list(decrypt_stream(CIPHER, FILE_ID, io.BytesIO(sealed), WHAT))
    assert [len(c) for c in chunks] == [DEFAULT_CHUNK_BYTES] * 3 + [1]
    assert b"".join(chunks) == data


@PROPERTY
@given(
    data=st.binary(max_size=300),
    chunk_size=st.integers(1, 40),
    read_most=st.integers(1, 50),
    write_sizes=st.lists(st.integers(0, 60), min_size=1, max_size=8),
)
def test_round_trip_whatever_the_chunk_size_and_read_and_write_sizes(
    data: bytes, chunk_size: int, read_most: int, write_sizes: list[int]
) -> None:
    target = io.BytesIO()
    encryptor = StreamEncryptor(CIPHER, FILE_ID, target, chunk_size)
    rest, turn = data, 0
    while rest:
        size = max(1, write_sizes[turn % len(write_sizes)])
        encryptor.write(rest[:size])
        rest, turn = rest[size:], turn + 1
    encryptor.finish()
    sealed = target.getvalue()
    assert len(sealed) == encrypted_size(len(data), chunk_size)
    chunks = list(decrypt_stream(CIPHER, FILE_ID, Trickle(sealed, read_most), WHAT))
    assert b"".join(chunks) == data
    assert all(len(c) == chunk_size for c in chunks[:-1])


@pytest.mark.slow
def test_a_50_mb_file_round_trips_through_files(tmp_path: Path) -> None:
    size = 50 * MB + 12345
    expected = hashlib.sha256()
    source = tmp_path / "original.bin"
    with source.open("wb") as handle:
        generator = Generated(size)
        while block := generator.read(MB):
            expected.update(block)
            handle.write(block)
    sealed = tmp_path / "sealed.bin"
    with source.open("rb") as reader, sealed.open("wb") as writer:
        assert encrypt_stream(CIPHER, FILE_ID, reader, writer) == size
    assert sealed.stat().st_size == encrypted_size(size)
    actual, total = hashlib.sha256(), 0
    with sealed.open("rb") as reader:
        for chunk in decrypt_stream(CIPHER, FILE_ID, reader, WHAT):
            actual.update(chunk)
            total += len(chunk)
    assert total == size
    assert actual.hexdigest() == expected.hexdigest()


def test_the_same_content_never_encrypts_the_same_way() -> None:
    data = b"A" * (3 * SMALL)
    first, second = encrypt(data), encrypt(data)
    assert first != second
    nonces = [r[: stream.envelope.NONCE_BYTES] for r in records(first)[1] + records(second)[1]]
    assert len(set(nonces)) == len(nonces)


# -- damage is refused, and nothing wrong is released (security check 4) ----------------

PLAIN = bytes(range(5 * SMALL))  # five full chunks, each recognisable
CHUNKS = [PLAIN[i : i + SMALL] for i in range(0, len(PLAIN), SMALL)]
SEALED = encrypt(PLAIN)
HEADER, RECORDS = records(SEALED)


def test_a_file_cut_after_a_chunk_is_truncated() -> None:
    released, error = released_before_failure(HEADER + b"".join(RECORDS[:3]))
    assert released == CHUNKS[:2]  # chunk 2 was not sealed as the last one: withheld
    assert "truncated" in str(error)
    assert WHAT in str(error)


def test_a_file_cut_inside_a_chunk_is_refused() -> None:
    released, error = released_before_failure(SEALED[:-5])
    assert released == CHUNKS[:4]
    assert WHAT in str(error)


@pytest.mark.parametrize(
    "damaged",
    [b"", HEADER[:5], HEADER, HEADER + RECORDS[0][:10]],
    ids=["empty file", "half a header", "header only", "a stub of a chunk"],
)
def test_a_file_without_a_complete_chunk_releases_nothing(damaged: bytes) -> None:
    released, error = released_before_failure(damaged)
    assert released == []
    assert WHAT in str(error)


@pytest.mark.parametrize(
    ("order", "released_count"),
    [
        ([0, 2, 1, 3, 4], 1),  # reordered
        ([0, 1, 1, 2, 3, 4], 2),  # duplicated
        ([0, 1, 3, 4], 2),  # removed from the middle
        ([1, 2, 3, 4], 0),  # the first one removed
        ([0, 1, 2, 3, 4, 4], 4),  # the last one repeated
    ],
    ids=["reordered", "duplicated", "removed", "first removed", "last repeated"],
)
def test_moved_chunks_are_refused(order: list[int], released_count: int) -> None:
    released, error = released_before_failure(HEADER + b"".join(RECORDS[i] for i in order))
    assert released == CHUNKS[:released_count]
    assert "does not authenticate" in str(error) or "truncated" in str(error)


def test_a_chunk_from_another_file_with_the_same_key_is_refused() -> None:
    other_header, other = records(encrypt(PLAIN, file_id=uuid.uuid4()))
    assert other_header == HEADER
    released, _ = released_before_failure(HEADER + RECORDS[0] + other[1] + b"".join(RECORDS[2:]))
    assert released == CHUNKS[:1]


def test_a_stream_opens_only_as_its_own_file_and_with_its_own_key() -> None:
    with pytest.raises(DecryptionError):
        decrypt(SEALED, file_id=uuid.uuid4())
    with pytest.raises(DecryptionError):
        decrypt(SEALED, cipher=AESGCM(AESGCM.generate_key(bit_length=256)))


def test_data_after_the_last_chunk_is_refused() -> None:
    released, _ = released_before_failure(SEALED + RECORDS[0])
    assert released == CHUNKS[:4]


@pytest.mark.parametrize(
    "header",
    [
        b"NOTEVID\x00" + HEADER[8:],
        HEADER[:8] + b"\x02" + HEADER[9:],
        HEADER[:9] + (SMALL + 1).to_bytes(4, "big"),
        HEADER[:9] + (stream.MAX_CHUNK_BYTES + 1).to_bytes(4, "big"),
        HEADER[:9] + (0).to_bytes(4, "big"),
    ],
    ids=["magic", "version", "chunk size", "huge chunk size", "zero chunk size"],
)
def test_a_damaged_header_is_refused(header: bytes) -> None:
    released, error = released_before_failure(header + b"".join(RECORDS))
    assert released == []
    assert WHAT in str(error)


def test_every_single_bit_flip_is_refused_and_releases_only_authentic_chunks() -> None:
    sealed = encrypt(PLAIN[: 2 * SMALL + 3])  # a header and three chunks, one short
    for position in range(len(sealed) * 8):
        damaged = bytearray(sealed)
        damaged[position // 8] ^= 1 << (position % 8)
        released, _ = released_before_failure(bytes(damaged))
        assert b"".join(released) == PLAIN[: len(b"".join(released))], f"bit {position}"
        if position // 8 < HEADER_BYTES:
            assert released == [], f"bit {position} of the header"
        else:  # a flip inside chunk n keeps every chunk from n on back
            assert len(released) <= (position // 8 - HEADER_BYTES) // (SMALL + CHUNK_OVERHEAD)


def test_the_writer_refuses_writes_after_finish_and_bad_chunk_sizes() -> None:
    encryptor = StreamEncryptor(CIPHER, FILE_ID, io.BytesIO(), SMALL)
    encryptor.finish()
    with pytest.raises(ValueError, match="finished"):
        encryptor.write(b"late")
    for size in (0, stream.MAX_CHUNK_BYTES + 1):
        with pytest.raises(ValueError, match="chunk size"):
            StreamEncryptor(CIPHER, FILE_ID, io.BytesIO(), size)


# -- bounded memory ---------------------------------------------------------------------


@pytest.mark.slow
def test_streaming_50_mb_keeps_memory_far_below_the_file_size(tmp_path: Path) -> None:
    size = 50 * MB
    sealed = tmp_path / "sealed.bin"
    tracemalloc.start()
    try:
        with sealed.open("wb") as writer:
            encrypt_stream(CIPHER, FILE_ID, Generated(size), writer)
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sink = HashingSink()
        with sealed.open("rb") as reader:
            for chunk in decrypt_stream(CIPHER, FILE_ID, reader, WHAT):
                sink.write(chunk)
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == size
    # about two chunks and their ciphertexts; the file is 50 MB
    assert encrypt_peak < 8 * MB, f"encryption peaked at {encrypt_peak / MB:.1f} MB"
    assert decrypt_peak < 8 * MB, f"decryption peaked at {decrypt_peak / MB:.1f} MB"


# -- the encrypted upload spool ---------------------------------------------------------


def test_the_spool_gives_back_what_was_written_and_stores_only_ciphertext() -> None:
    canary = b"CANARY-upload-spool-" + secrets.token_hex(8).encode()
    data = (canary + b"\n") * 5000  # about 150 KB: several spool chunks
    backing = io.BytesIO()
    spool = EncryptedSpool(backing=backing)
    for start in range(0, len(data), 7000):
        spool.write(data[start : start + 7000])
    assert spool.tell() == len(data)
    assert spool.seek(0) == 0
    assert canary not in backing.getvalue()
    parts = [spool.read(1), spool.read(65_000), spool.read(10), spool.read()]
    assert b"".join(parts) == data
    assert spool.read(10) == b""
    spool.seek(0)  # may be read again from the top
    assert spool.read() == data
    spool.close()
    assert spool.closed


def test_the_spool_refuses_what_a_spool_cannot_do() -> None:
    with EncryptedSpool() as spool:
        spool.write(b"data")
        with pytest.raises(io.UnsupportedOperation):
            spool.read()
        with pytest.raises(io.UnsupportedOperation):
            spool.seek(2)
        spool.seek(0)
        assert not spool.writable()
        with pytest.raises(io.UnsupportedOperation):
            spool.write(b"more")


def test_a_damaged_spool_is_refused() -> None:
    backing = io.BytesIO()
    spool = EncryptedSpool(chunk_size=16, backing=backing)
    spool.write(b"x" * 100)
    spool.seek(0)
    with backing.getbuffer() as view:
        view[-1] ^= 1
    with pytest.raises(DecryptionError):
        spool.read()
    spool.close()
