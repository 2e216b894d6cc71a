"""AES-256-GCM envelope encryption: data keys wrapped by master keys, fields sealed by data keys.

Ciphertext layout: format version byte | 96-bit random nonce | ciphertext and tag.
Every ciphertext is bound to its place by associated data: a purpose label, the format
version and the parts that name the place (table, column, record id, team id; plus the
master key id for wrapped keys), each length-prefixed so no two different places can
encode to the same bytes. A ciphertext moved to another row, column or team fails.
"""

from __future__ import annotations

import collections
import functools
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incidents.crypto.keys import KEY_BYTES, MasterKey
from incidents.errors import DecryptionError

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + NONCE_BYTES
_SHORTEST = HEADER_BYTES + TAG_BYTES
VERSION_BYTE = bytes([FORMAT_VERSION])

FIELD_PURPOSE = "incidents/field"
DATA_KEY_PURPOSE = "incidents/data-key"
# Up to this size a ciphertext is sliced (copying it costs less than a memoryview);
# a larger one (a long draft) is viewed without copying.
_COPY_LIMIT = 1 << 16


def _length_prefixed(part: object) -> bytes:
    data = str(part).encode("utf-8")
    return len(data).to_bytes(4, "big") + data


@functools.cache
def _aad_prefix(purpose: str) -> bytes:
    return _length_prefixed(purpose) + _length_prefixed(FORMAT_VERSION)


def associated_data(purpose: str, *parts: object) -> bytes:
    """Length-prefixed encoding of the purpose, format version and the place's parts."""
    return _aad_prefix(purpose) + b"".join([_length_prefixed(part) for part in parts])


@functools.lru_cache(maxsize=256, typed=True)  # typed: 1 and True are told apart
def _encoded_part(part: object) -> bytes:
    """A part that recurs across many places (a table, a column, a team, a master key)."""
    return _length_prefixed(part)


@functools.lru_cache(maxsize=256)
def _field_prefix(table: str, column: str) -> bytes:
    return _aad_prefix(FIELD_PURPOSE) + _length_prefixed(table) + _length_prefixed(column)


def field_aad(table: str, column: str, record_id: object, team_id: object) -> bytes:
    """`associated_data(FIELD_PURPOSE, table, column, record_id, team_id)`, with the
    parts shared by many records encoded once."""
    return _field_prefix(table, column) + _length_prefixed(record_id) + _encoded_part(team_id)


@functools.lru_cache(maxsize=64)
def _data_key_prefix(key_id: str) -> bytes:
    return _aad_prefix(DATA_KEY_PURPOSE) + _length_prefixed(key_id)


def data_key_aad(key_id: str, table: str, record_id: object, team_id: object) -> bytes:
    """`associated_data(DATA_KEY_PURPOSE, key_id, table, record_id, team_id)`, with the
    parts shared by many keys encoded once."""
    return (
        _data_key_prefix(key_id)
        + _encoded_part(table)
        + _length_prefixed(record_id)
        + _encoded_part(team_id)
    )


# Nonces are drawn from the operating system's generator 64 at a time: one system call
# costs as much as a short field's encryption. A nonce need not be secret, only never
# used twice: each is taken from the queue once (popleft is atomic), and a forked child
# starts with an empty queue, so it shares none of its parent's.
_NONCES_PER_DRAW = 64
_nonces: collections.deque[bytes] = collections.deque()
os.register_at_fork(after_in_child=_nonces.clear)


def _draw_nonces() -> bytes:
    """Queue a fresh draw of nonces; return one of them."""
    drawn = os.urandom(NONCE_BYTES * _NONCES_PER_DRAW)
    _nonces.extend(
        [drawn[at : at + NONCE_BYTES] for at in range(NONCE_BYTES, len(drawn), NONCE_BYTES)]
    )
    return drawn[:NONCE_BYTES]


def new_nonce() -> bytes:
    """A random 96-bit nonce; random nonces are safe far beyond one data key's use."""
    try:
        return _nonces.popleft()
    except IndexError:
        return _draw_nonces()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with a fresh random nonce; return version | nonce | ciphertext+tag."""
    return seal_with(AESGCM(key), plaintext, aad)


def seal_with(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    try:  # new_nonce(), inline: one call fewer for every value sealed
        nonce = _nonces.popleft()
    except IndexError:
        nonce = _draw_nonces()
    return VERSION_BYTE + nonce + cipher.encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    """Decrypt a value made by seal(); DecryptionError naming `what` on any failure."""
    return open_with(AESGCM(key), sealed, aad, what)


def open_with(cipher: AESGCM, sealed: bytes, aad: bytes, what: str = "") -> bytes:
    """Decrypt with a ready cipher; DecryptionError (prefixed with `what`, if given) on failure."""
    size = len(sealed)
    if size < _SHORTEST or sealed[0] != FORMAT_VERSION:
        raise _malformed(sealed, what)
    body = sealed if size <= _COPY_LIMIT else memoryview(sealed)
    try:
        return cipher.decrypt(body[1:HEADER_BYTES], body[HEADER_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"{_prefix(what)}ciphertext does not authenticate (wrong key, moved or altered)"
        ) from None


def _prefix(what: str) -> str:
    return f"{what}: " if what else ""


def _malformed(sealed: bytes, what: str) -> DecryptionError:
    if len(sealed) < _SHORTEST:
        return DecryptionError(f"{_prefix(what)}ciphertext is truncated")
    return DecryptionError(f"{_prefix(what)}unknown ciphertext format version {sealed[0]}")


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
    aad = data_key_aad(master.key_id, table, record_id, team_id)
    try:
        return open_with(_master_cipher(master), wrapped, aad)
    except DecryptionError as exc:  # the place is named only when it is needed
        raise DecryptionError(f"data key of {table} {record_id}: {exc}") from None
