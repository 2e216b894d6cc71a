"""AES-256-GCM envelope encryption: data keys wrapped by master keys, fields sealed by data keys.

Ciphertext layout: format version byte | 96-bit random nonce | ciphertext and tag.
Every ciphertext is bound to its place by associated data: a purpose label, the format
version and the parts that name the place (table, column, record id, team id; plus the
master key id for wrapped keys), each length-prefixed so no two different places can
encode to the same bytes. A ciphertext moved to another row, column or team fails.
"""

from __future__ import annotations

import functools
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto.keys import KEY_BYTES, MasterKey
from incidents.errors import DecryptionError

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + NONCE_BYTES
VERSION_BYTE = bytes([FORMAT_VERSION])

FIELD_PURPOSE = "incidents/field"
DATA_KEY_PURPOSE = "incidents/data-key"


def _length_prefixed(part: object) -> bytes:
    data = str(part).encode("utf-8")
    return len(data).to_bytes(4, "big") + data


@functools.cache
def _aad_prefix(purpose: str) -> bytes:
    return _length_prefixed(purpose) + _length_prefixed(FORMAT_VERSION)


def associated_data(purpose: str, *parts: object) -> bytes:
    """Length-prefixed encoding of the purpose, format version and the place's parts."""
    return _aad_prefix(purpose) + b"".join(_length_prefixed(part) for part in parts)


def field_aad(table: str, column: str, record_id: object, team_id: object) -> bytes:
    return associated_data(FIELD_PURPOSE, table, column, record_id, team_id)


def data_key_aad(key_id: str, table: str, record_id: object, team_id: object) -> bytes:
    return associated_data(DATA_KEY_PURPOSE, key_id, table, record_id, team_id)


def new_nonce() -> bytes:
    """A random 96-bit nonce; random nonces are safe far beyond one data key's use."""
    return secrets.token_bytes(NONCE_BYTES)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with a fresh random nonce; return version | nonce | ciphertext+tag."""
    return seal_with(AESGCM(key), plaintext, aad)


def seal_with(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = new_nonce()
    return VERSION_BYTE + nonce + cipher.encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    """Decrypt a value made by seal(); DecryptionError naming `what` on any failure."""
    return open_with(AESGCM(key), sealed, aad, what)


def open_with(cipher: AESGCM, sealed: bytes, aad: bytes, what: str = "") -> bytes:
    """Decrypt with a ready cipher; DecryptionError (prefixed with `what`, if given) on failure."""
    prefix = f"{what}: " if what else ""
    if len(sealed) < HEADER_BYTES + TAG_BYTES:
        raise DecryptionError(f"{prefix}ciphertext is truncated")
    if sealed[0] != FORMAT_VERSION:
        raise DecryptionError(f"{prefix}unknown ciphertext format version {sealed[0]}")
    view = memoryview(sealed)  # slices without copying the ciphertext
    try:
        return cipher.decrypt(view[1:HEADER_BYTES], view[HEADER_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"{prefix}ciphertext does not authenticate (wrong key, moved or altered)"
        ) from None


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@functools.lru_cache(maxsize=16)
def _master_cipher(master: MasterKey) -> AESGCM:
    """One AESGCM object per master key (a rotation wraps thousands of keys with it)."""
    return AESGCM(master.material)


def wrap_data_key(
    master: MasterKey, data_key: bytes, table: str, record_id: object, team_id: object
) -> bytes:
    aad = data_key_aad(master.key_id, table, record_id, team_id)
    return seal_with(_master_cipher(master), data_key, aad)


def unwrap_data_key(
    master: MasterKey, wrapped: bytes, table: str, record_id: object, team_id: object
) -> bytes:
    what = f"data key of {table} {record_id}"
    aad = data_key_aad(master.key_id, table, record_id, team_id)
    return open_with(_master_cipher(master), wrapped, aad, what)
