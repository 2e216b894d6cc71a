"""AES-256-GCM envelope encryption, without a database (security checks 3, 4, 5 and 1
at the envelope level): round trips, tampering, associated data, nonces, wrapped keys."""

from __future__ import annotations

import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import example, given, settings
from hypothesis import strategies as st

from incidents.crypto import envelope
from incidents.crypto.keys import KEY_BYTES, MasterKey, generate_master_key
from incidents.errors import DecryptionError

# No example database: the suite leaves no .hypothesis folder in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=200)

KEY = secrets.token_bytes(KEY_BYTES)
CIPHER = AESGCM(KEY)
RECORD_ID = uuid.uuid4()
TEAM_ID = uuid.uuid4()
AAD = envelope.field_aad("incidents", "narrative", RECORD_ID, TEAM_ID)
PLAINTEXT = "Свидетель видел задержание у блокпоста — 🕊️ شاهد".encode()
SEALED = envelope.seal(KEY, PLAINTEXT, AAD)
WHAT = "incidents INC-2017-0001, field narrative"

texts = st.text(
    alphabet=st.characters(codec="utf-8"),  # any encodable code point: Cyrillic, emoji, RTL
    max_size=2000,
)


# -- round trips (security check 5) -----------------------------------------------------


@PROPERTY
@given(text=texts)
@example(text="")
@example(text="Нарратив: задержан 2017-03-01, Грозный")
@example(text="👩‍👩‍👧 🏳️‍🌈 emoji sequences")
@example(text="שלום עליכם — مرحبا بالعالم \u202e reversed \u202c")
@example(text="\x00 nul and \ufeff BOM and \U0010ffff")
@example(text="ф" * 100_000)
def test_text_round_trips_through_seal_with_and_open_with(text: str) -> None:
    sealed = envelope.seal_with(CIPHER, text.encode("utf-8"), AAD)
    assert envelope.open_with(CIPHER, sealed, AAD, WHAT).decode("utf-8") == text


@PROPERTY
@given(value=st.binary(max_size=4096))
@example(value=b"")
def test_bytes_round_trip_through_seal_and_open_sealed(value: bytes) -> None:
    sealed = envelope.seal(KEY, value, AAD)
    assert envelope.open_sealed(KEY, sealed, AAD, WHAT) == value


@pytest.mark.parametrize("size", [5 * 1024 * 1024, 5 * 1024 * 1024 + 7])
def test_large_values_round_trip(size: int) -> None:
    value = secrets.token_bytes(size)
    sealed = envelope.seal(KEY, value, AAD)
    assert len(sealed) == envelope.HEADER_BYTES + size + envelope.TAG_BYTES
    assert envelope.open_sealed(KEY, sealed, AAD, WHAT) == value
    assert envelope.open_with(AESGCM(KEY), sealed, AAD, WHAT) == value


def test_empty_plaintext_is_still_authenticated() -> None:
    sealed = envelope.seal(KEY, b"", AAD)
    assert len(sealed) == envelope.HEADER_BYTES + envelope.TAG_BYTES
    assert envelope.open_sealed(KEY, sealed, AAD, WHAT) == b""
    other = envelope.field_aad("incidents", "place_detail", RECORD_ID, TEAM_ID)
    with pytest.raises(DecryptionError):
        envelope.open_sealed(KEY, sealed, other, WHAT)


def test_layout_is_version_nonce_ciphertext_and_tag() -> None:
    assert SEALED[0] == envelope.FORMAT_VERSION
    assert len(SEALED) == 1 + envelope.NONCE_BYTES + len(PLAINTEXT) + envelope.TAG_BYTES
    assert PLAINTEXT not in SEALED


# -- tampering (security check 4) -------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_flipping_any_single_bit_fails_to_decrypt(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(SEALED) * 8 - 1), label="bit")
    tampered = bytearray(SEALED)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(DecryptionError, match=WHAT):
        envelope.open_sealed(KEY, bytes(tampered), AAD, WHAT)


@PROPERTY
@given(value=st.binary(max_size=300), data=st.data())
def test_flipping_any_bit_of_any_ciphertext_fails(value: bytes, data: st.DataObject) -> None:
    sealed = envelope.seal(KEY, value, AAD)
    position = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
    tampered = bytearray(sealed)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(DecryptionError):
        envelope.open_with(CIPHER, bytes(tampered), AAD, WHAT)


def test_every_single_bit_flip_of_one_ciphertext_fails() -> None:
    """Exhaustive over one short ciphertext, so no position is left to chance."""
    sealed = envelope.seal(KEY, b"short", AAD)
    for position in range(len(sealed) * 8):
        tampered = bytearray(sealed)
        tampered[position // 8] ^= 1 << (position % 8)
        with pytest.raises(DecryptionError):
            envelope.open_with(CIPHER, bytes(tampered), AAD, WHAT)


@PROPERTY
@given(length=st.integers(0, len(SEALED) - 1))
def test_truncated_ciphertext_fails_naming_the_record(length: int) -> None:
    with pytest.raises(DecryptionError, match=WHAT):
        envelope.open_sealed(KEY, SEALED[:length], AAD, WHAT)


def test_too_short_ciphertext_is_reported_as_truncated() -> None:
    short = SEALED[: envelope.HEADER_BYTES + envelope.TAG_BYTES - 1]
    with pytest.raises(DecryptionError, match=rf"^{WHAT}: ciphertext is truncated$"):
        envelope.open_sealed(KEY, short, AAD, WHAT)
    with pytest.raises(DecryptionError, match="truncated"):
        envelope.open_sealed(KEY, b"", AAD, WHAT)


def test_appended_bytes_fail() -> None:
    with pytest.raises(DecryptionError, match=WHAT):
        envelope.open_sealed(KEY, SEALED + b"\x00", AAD, WHAT)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_format_version_fails_naming_the_record(version: int) -> None:
    changed = bytes([version]) + SEALED[1:]
    with pytest.raises(DecryptionError, match=rf"^{WHAT}: unknown .*format version {version}$"):
        envelope.open_sealed(KEY, changed, AAD, WHAT)


def test_wrong_key_fails() -> None:
    with pytest.raises(DecryptionError, match=WHAT):
        envelope.open_sealed(secrets.token_bytes(KEY_BYTES), SEALED, AAD, WHAT)


def test_decryption_error_does_not_chain_the_library_exception() -> None:
    with pytest.raises(DecryptionError) as caught:
        envelope.open_sealed(KEY, SEALED, b"wrong", WHAT)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# -- associated data (security check 1) -------------------------------------------------

PLACE = ("incidents", "narrative", RECORD_ID, TEAM_ID)
PLACE_CHANGES = {
    "table": ("reports", "narrative", RECORD_ID, TEAM_ID),
    "column": ("incidents", "place_detail", RECORD_ID, TEAM_ID),
    "record id": ("incidents", "narrative", uuid.uuid4(), TEAM_ID),
    "team id": ("incidents", "narrative", RECORD_ID, uuid.uuid4()),
}


@pytest.mark.parametrize("changed", PLACE_CHANGES.values(), ids=PLACE_CHANGES.keys())
def test_changing_any_part_of_the_place_fails(changed: tuple[object, ...]) -> None:
    sealed = envelope.seal(KEY, b"a secret", envelope.field_aad(*PLACE))
    assert envelope.open_sealed(KEY, sealed, envelope.field_aad(*PLACE), WHAT) == b"a secret"
    with pytest.raises(DecryptionError, match=WHAT):
        envelope.open_sealed(KEY, sealed, envelope.field_aad(*changed), WHAT)


identifiers = st.text(max_size=12)


@PROPERTY
@given(
    place=st.tuples(identifiers, identifiers, st.uuids(), st.uuids()),
    other=st.tuples(identifiers, identifiers, st.uuids(), st.uuids()),
)
def test_a_ciphertext_opens_only_at_its_own_place(
    place: tuple[str, str, uuid.UUID, uuid.UUID], other: tuple[str, str, uuid.UUID, uuid.UUID]
) -> None:
    sealed = envelope.seal_with(CIPHER, b"x", envelope.field_aad(*place))
    if other == place:
        assert envelope.open_with(CIPHER, sealed, envelope.field_aad(*other), WHAT) == b"x"
    else:
        with pytest.raises(DecryptionError):
            envelope.open_with(CIPHER, sealed, envelope.field_aad(*other), WHAT)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a", "bc"), ("ab", "c")),
        (("ab", ""), ("a", "b")),
        (("a",), ("a", "")),
        (("",), ()),
        (("a\x00\x00\x00\x01b",), ("a", "b")),
        (("\x00\x00\x00\x01a",), ("", "a")),
        (("incidents", "narrative"), ("incidentsnarrative",)),
        (("é",), ("e\u0301",)),
    ],
)
def test_associated_data_separates_tricky_parts(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    assert envelope.associated_data("p", *first) != envelope.associated_data("p", *second)


def compositions(text: str) -> list[tuple[str, ...]]:
    """Every way to cut `text` into one or more non-empty consecutive parts."""
    if len(text) <= 1:
        return [(text,)]
    return [(text[0], *rest) for rest in compositions(text[1:])] + [
        (text[0] + rest[0], *rest[1:]) for rest in compositions(text[1:])
    ]


def test_associated_data_is_injective_over_every_regrouping() -> None:
    """Every cut of these strings, joined by any usual separator, encodes differently."""
    candidates = {
        (*parts, *extra)
        for base in ["abc", "a|bc", "a,b:c", "a/b", "a\x00b", "\x00\x00\x00\x01ab", "a1b"]
        for parts in compositions(base)
        for extra in [(), ("",), ("", "")]
    }
    encodings = {envelope.associated_data("p", *parts) for parts in candidates}
    assert len(encodings) == len(candidates)


# A small alphabet with the usual separators and length-prefix-like bytes, so that
# independently drawn lists of parts often join to the same text.
tiny_parts = st.lists(st.text(alphabet="a|:\x00\x01", max_size=3), max_size=4)


@settings(database=None, deadline=None, max_examples=500)
@given(first=tiny_parts, second=tiny_parts)
def test_associated_data_is_injective_on_parts(first: list[str], second: list[str]) -> None:
    same = envelope.associated_data("p", *first) == envelope.associated_data("p", *second)
    assert same == (first == second)


@PROPERTY
@given(purpose=st.text(max_size=20), other=st.text(max_size=20), parts=st.lists(st.text()))
def test_associated_data_separates_purposes(purpose: str, other: str, parts: list[str]) -> None:
    same = envelope.associated_data(purpose, *parts) == envelope.associated_data(other, *parts)
    assert same == (purpose == other)


def test_associated_data_names_the_format_version() -> None:
    encoded = envelope.associated_data("p", "x")
    version = str(envelope.FORMAT_VERSION).encode()
    assert encoded == (
        len(b"p").to_bytes(4, "big")
        + b"p"
        + len(version).to_bytes(4, "big")
        + version
        + len(b"x").to_bytes(4, "big")
        + b"x"
    )


def test_field_and_data_key_associated_data_use_different_purposes() -> None:
    assert envelope.FIELD_PURPOSE != envelope.DATA_KEY_PURPOSE
    assert envelope.field_aad("t", "c", RECORD_ID, TEAM_ID) != envelope.data_key_aad(
        "t", "c", RECORD_ID, TEAM_ID
    )


# -- nonces (security check 3) ----------------------------------------------------------


def test_many_encryptions_of_one_value_repeat_no_nonce_and_no_ciphertext() -> None:
    count = 10_000
    sealed = [envelope.seal_with(CIPHER, b"the same value", AAD) for _ in range(count)]
    nonces = {value[1 : envelope.HEADER_BYTES] for value in sealed}
    bodies = {value[envelope.HEADER_BYTES :] for value in sealed}
    assert len(nonces) == count
    assert len(set(sealed)) == count
    assert len(bodies) == count
    assert all(
        envelope.open_with(CIPHER, value, AAD, WHAT) == b"the same value" for value in sealed[:50]
    )


def test_seal_with_a_key_uses_fresh_nonces_too() -> None:
    sealed = {envelope.seal(KEY, b"", AAD) for _ in range(1000)}
    assert len(sealed) == 1000


def test_new_data_keys_are_random_and_full_length() -> None:
    keys = {envelope.new_data_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert {len(key) for key in keys} == {KEY_BYTES}


# -- wrapped data keys ------------------------------------------------------------------

MASTER = generate_master_key()
DATA_KEY = envelope.new_data_key()
TABLE = "incidents"
WRAPPED = envelope.wrap_data_key(MASTER, DATA_KEY, TABLE, RECORD_ID, TEAM_ID)


def test_wrapped_data_key_unwraps_at_its_place() -> None:
    assert DATA_KEY not in WRAPPED
    assert envelope.unwrap_data_key(MASTER, WRAPPED, TABLE, RECORD_ID, TEAM_ID) == DATA_KEY


def test_wrapped_data_key_does_not_unwrap_under_another_master_key_id() -> None:
    """Same key material, another id: the id is bound into the associated data."""
    renamed = MasterKey("mk-another-id", MASTER.material)
    with pytest.raises(DecryptionError, match=f"data key of {TABLE} {RECORD_ID}"):
        envelope.unwrap_data_key(renamed, WRAPPED, TABLE, RECORD_ID, TEAM_ID)


def test_wrapped_data_key_does_not_unwrap_under_another_master_key() -> None:
    other = MasterKey(MASTER.key_id, secrets.token_bytes(KEY_BYTES))
    with pytest.raises(DecryptionError):
        envelope.unwrap_data_key(other, WRAPPED, TABLE, RECORD_ID, TEAM_ID)


@pytest.mark.parametrize(
    "place",
    [
        ("reports", RECORD_ID, TEAM_ID),
        (TABLE, uuid.uuid4(), TEAM_ID),
        (TABLE, RECORD_ID, uuid.uuid4()),
    ],
    ids=["table", "record", "team"],
)
def test_wrapped_data_key_does_not_unwrap_for_another_place(place: tuple[object, ...]) -> None:
    with pytest.raises(DecryptionError):
        envelope.unwrap_data_key(MASTER, WRAPPED, *place)  # type: ignore[arg-type]


def test_field_ciphertext_cannot_be_opened_as_a_wrapped_key() -> None:
    """Parts chosen so that only the purpose label tells the two apart."""
    field_sealed = envelope.seal(
        MASTER.material, DATA_KEY, envelope.field_aad(MASTER.key_id, TABLE, RECORD_ID, TEAM_ID)
    )
    with pytest.raises(DecryptionError):
        envelope.unwrap_data_key(MASTER, field_sealed, TABLE, RECORD_ID, TEAM_ID)
    # and the other way round: a wrapped key is not a field value
    with pytest.raises(DecryptionError):
        envelope.open_sealed(
            MASTER.material,
            WRAPPED,
            envelope.field_aad(MASTER.key_id, TABLE, RECORD_ID, TEAM_ID),
            WHAT,
        )


def test_each_wrap_of_the_same_key_differs() -> None:
    again = envelope.wrap_data_key(MASTER, DATA_KEY, TABLE, RECORD_ID, TEAM_ID)
    assert again != WRAPPED
    assert envelope.unwrap_data_key(MASTER, again, TABLE, RECORD_ID, TEAM_ID) == DATA_KEY


def test_record_and_team_ids_bind_as_uuid_or_string() -> None:
    """A record id read back as text (e.g. from an export) names the same place."""
    assert envelope.unwrap_data_key(MASTER, WRAPPED, TABLE, str(RECORD_ID), str(TEAM_ID)) == (
        DATA_KEY
    )
