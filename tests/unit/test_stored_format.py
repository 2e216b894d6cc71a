"""The stored format, pinned independently of the code that writes it: values sealed and
keys wrapped by hand (raw AES-GCM, the associated data spelled out byte by byte) open
through the envelope, and what the envelope writes opens by hand. The shortcuts the
envelope takes for speed (encoded parts kept, nonces drawn in batches) change no byte.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.crypto import envelope
from incidents.crypto.keys import generate_master_key
from incidents.errors import DecryptionError

PROPERTY = settings(database=None, deadline=None, max_examples=200)
RECORD_ID = uuid.uuid4()
TEAM_ID = uuid.uuid4()


def by_hand(purpose: str, *parts: str) -> bytes:
    """Associated data as stored ciphertexts were made: each of the purpose, the format
    version "1" and the parts as UTF-8 after its length in four big-endian bytes."""
    encoded = [text.encode("utf-8") for text in (purpose, "1", *parts)]
    return b"".join(len(data).to_bytes(4, "big") + data for data in encoded)


def sealed_by_hand(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def opened_by_hand(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    assert sealed[0] == 1
    return AESGCM(key).decrypt(sealed[1:13], sealed[13:], aad)


def test_a_field_sealed_by_hand_opens_through_the_envelope() -> None:
    key = AESGCM.generate_key(256)
    aad = by_hand("incidents/field", "incidents", "narrative", str(RECORD_ID), str(TEAM_ID))
    sealed = sealed_by_hand(key, "Показания".encode(), aad)
    place = envelope.field_aad("incidents", "narrative", RECORD_ID, TEAM_ID)
    assert envelope.open_with(AESGCM(key), sealed, place).decode() == "Показания"
    with pytest.raises(DecryptionError):  # and only at its own place
        other = envelope.field_aad("incidents", "place_detail", RECORD_ID, TEAM_ID)
        envelope.open_with(AESGCM(key), sealed, other)


def test_a_field_sealed_by_the_envelope_opens_by_hand() -> None:
    key = AESGCM.generate_key(256)
    place = envelope.field_aad("persons", "full_name", RECORD_ID, TEAM_ID)
    sealed = envelope.seal_with(AESGCM(key), b"A name", place)
    aad = by_hand("incidents/field", "persons", "full_name", str(RECORD_ID), str(TEAM_ID))
    assert opened_by_hand(key, sealed, aad) == b"A name"


def test_a_key_wrapped_by_hand_unwraps_and_a_key_wrapped_opens_by_hand() -> None:
    old, new = generate_master_key(), generate_master_key()
    data_key = envelope.new_data_key()
    place = ("persons", str(RECORD_ID), str(TEAM_ID))
    wrapped = sealed_by_hand(
        old.material, data_key, by_hand("incidents/data-key", old.key_id, *place)
    )
    assert envelope.unwrap_data_key(old, wrapped, "persons", RECORD_ID, TEAM_ID) == data_key
    rewrapped = envelope.wrap_data_key(new, data_key, "persons", RECORD_ID, TEAM_ID)
    aad = by_hand("incidents/data-key", new.key_id, *place)
    assert opened_by_hand(new.material, rewrapped, aad) == data_key
    with pytest.raises(DecryptionError, match=f"data key of persons {RECORD_ID}"):
        envelope.unwrap_data_key(old, wrapped, "persons", RECORD_ID, uuid.uuid4())


parts = st.one_of(st.text(max_size=12), st.uuids(), st.integers(-3, 3), st.booleans())


@PROPERTY
@given(table=st.text(max_size=12), column=st.text(max_size=12), record=parts, team=parts)
def test_the_kept_encodings_give_the_bytes_of_the_general_one(
    table: str, column: str, record: object, team: object
) -> None:
    """Including parts equal as Python values but not as text (1 and True), which a
    cache of encoded parts must keep apart."""
    assert envelope.field_aad(table, column, record, team) == envelope.associated_data(
        envelope.FIELD_PURPOSE, table, column, record, team
    )
    assert envelope.data_key_aad(column, table, record, team) == envelope.associated_data(
        envelope.DATA_KEY_PURPOSE, column, table, record, team
    )


def test_one_and_true_name_different_teams_whichever_is_encoded_first() -> None:
    assert envelope.field_aad("t", "c", RECORD_ID, 1) != envelope.field_aad(
        "t", "c", RECORD_ID, True
    )
    assert envelope.field_aad("t", "c", RECORD_ID, True).endswith(by_hand("x", "True")[-8:])


def test_threads_sealing_at_once_share_no_nonce() -> None:
    cipher = AESGCM(AESGCM.generate_key(256))
    found: list[list[bytes]] = [[] for _ in range(8)]

    def seal_many(into: list[bytes]) -> None:
        into.extend(envelope.seal_with(cipher, b"", b"")[1:13] for _ in range(5000))

    threads = [threading.Thread(target=seal_many, args=(into,)) for into in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    nonces = [nonce for into in found for nonce in into]
    assert len(nonces) == 40_000 and len(set(nonces)) == 40_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_uses_none_of_the_nonces_its_parent_had_drawn() -> None:
    envelope.new_nonce()  # the queue now holds nonces drawn before the fork
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        try:
            os.write(writing, b"".join(envelope.new_nonce() for _ in range(100)))
        finally:
            os._exit(0)
    os.close(writing)
    received = b""
    while chunk := os.read(reading, 4096):
        received += chunk
    os.close(reading)
    os.waitpid(child, 0)
    in_child = {received[at : at + 12] for at in range(0, len(received), 12)}
    in_parent = {envelope.new_nonce() for _ in range(100)}
    assert len(in_child) == 100
    assert not in_child & in_parent
