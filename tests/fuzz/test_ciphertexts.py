"""Fuzzing the ciphertext readers: a field ciphertext (version | nonce | ciphertext+tag),
a wrapped data key, and a chunked evidence stream. Whatever the bytes, the answer is the
plaintext of exactly what was sealed, or DecryptionError; never another exception, never
plaintext of altered bytes, never a chunk that was altered, and truncation is always
noticed."""

from __future__ import annotations

import io
import secrets
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given
from hypothesis import strategies as st

from incidents.crypto import envelope, stream
from incidents.crypto.keys import KEY_BYTES, generate_master_key
from incidents.errors import DecryptionError
from tests.fuzz import FUZZ

KEY = secrets.token_bytes(KEY_BYTES)
CIPHER = AESGCM(KEY)
RECORD_ID, TEAM_ID = uuid.uuid4(), uuid.uuid4()
AAD = envelope.field_aad("incidents", "narrative", RECORD_ID, TEAM_ID)
PLAINTEXT = "Свидетель видел задержание — شاهد".encode()
SEALED = envelope.seal(KEY, PLAINTEXT, AAD)

MASTER = generate_master_key()
DATA_KEY = envelope.new_data_key()
WRAPPED = envelope.wrap_data_key(MASTER, DATA_KEY, "incidents", RECORD_ID, TEAM_ID)

FILE_ID = uuid.uuid4()
CHUNK = 16
EVIDENCE = secrets.token_bytes(CHUNK * 5 + 7)  # five full chunks and a short last one
STREAM = io.BytesIO()
stream.encrypt_stream(CIPHER, FILE_ID, io.BytesIO(EVIDENCE), STREAM, chunk_size=CHUNK)
ENCRYPTED = STREAM.getvalue()
RECORD = CHUNK + stream.CHUNK_OVERHEAD
CHUNKS = [EVIDENCE[i : i + CHUNK] for i in range(0, len(EVIDENCE), CHUNK)]


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with bytes flipped, replaced, inserted, deleted, cut off or appended."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "replace", "insert", "delete", "cut", "append"]))
        if action == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "replace":
            piece = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(piece)] = piece
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "cut":
            del data[at:]
        else:
            data += draw(st.binary(min_size=1, max_size=40))
    return bytes(data)


@FUZZ
@given(sealed=mutated(SEALED) | st.binary(max_size=200))
@example(sealed=b"")
@example(sealed=SEALED[:-1])
@example(sealed=b"\x02" + SEALED[1:])
def test_a_field_ciphertext_opens_only_as_sealed(sealed: bytes) -> None:
    try:
        opened = envelope.open_sealed(KEY, sealed, AAD, "incidents INC-1, field narrative")
    except DecryptionError as error:
        assert str(error).startswith("incidents INC-1, field narrative: ")
        return
    assert sealed == SEALED and opened == PLAINTEXT


@FUZZ
@given(wrapped=mutated(WRAPPED) | st.binary(max_size=120))
@example(wrapped=WRAPPED + b"\0")
def test_a_wrapped_data_key_unwraps_only_as_wrapped(wrapped: bytes) -> None:
    try:
        key = envelope.unwrap_data_key(MASTER, wrapped, "incidents", RECORD_ID, TEAM_ID)
    except DecryptionError:
        return
    assert wrapped == WRAPPED and key == DATA_KEY


def _read(encrypted: bytes) -> tuple[list[bytes], DecryptionError | None]:
    """The chunks a reader yields before it stops, and the error it stops with."""
    chunks: list[bytes] = []
    try:
        for chunk in stream.decrypt_stream(CIPHER, FILE_ID, io.BytesIO(encrypted), "file E-1"):
            chunks.append(chunk)
    except DecryptionError as error:
        return chunks, error
    return chunks, None


@FUZZ
@given(encrypted=mutated(ENCRYPTED) | st.binary(max_size=300))
@example(encrypted=ENCRYPTED + ENCRYPTED[stream.HEADER_BYTES : stream.HEADER_BYTES + RECORD])
@example(encrypted=ENCRYPTED[: stream.HEADER_BYTES + 2 * RECORD])
def test_an_evidence_stream_yields_only_unaltered_chunks(encrypted: bytes) -> None:
    chunks, error = _read(encrypted)
    if error is None:
        assert encrypted == ENCRYPTED and b"".join(chunks) == EVIDENCE
        return
    assert encrypted != ENCRYPTED and str(error).startswith("file E-1: ")
    # Each chunk yielded is the one sealed at its place, read from bytes left as they were.
    assert chunks == CHUNKS[: len(chunks)]
    if chunks:  # then the header and those chunks' records are as they were written
        unaltered = stream.HEADER_BYTES + len(chunks) * RECORD
        assert encrypted[:unaltered] == ENCRYPTED[:unaltered]
    assert len(chunks) < len(CHUNKS), "every chunk came out, yet the stream was altered"


@FUZZ
@given(length=st.integers(0, len(ENCRYPTED) - 1))
def test_a_stream_cut_anywhere_fails_at_its_end(length: int) -> None:
    chunks, error = _read(ENCRYPTED[:length])
    assert error is not None, f"a stream cut to {length} bytes read as complete"
    assert chunks == CHUNKS[: len(chunks)] and len(chunks) < len(CHUNKS)
    assert "truncated" in str(error) or "does not authenticate" in str(error)
