"""Blind indexes: keyed, truncated hashes of normalised secret values, for lookups
without decrypting every record. Imports nothing from Flask.

Each index has its own HMAC-SHA256 key, derived by HKDF-SHA256 from a master key's
material with the info ``incidents/blind-index/v1/<index name>``; an entry records the
master key it was derived from. New entries use the provider's primary key; lookups
compute the candidate value under every key the provider holds, so entries made before
a rotation are still found until `incidents keys reindex` moves them to the new key.

Values are truncated to a configured width: narrow enough that a stolen database cannot
confirm a guessed name with certainty, wide enough that lookups return few candidates.
A match is therefore only a candidate; the services confirm it by decrypting the record.
What is indexed, and how a value is normalised first, is not cryptography: see
incidents/records/indexing.py and incidents/names.py.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from incidents.crypto.keys import KeyProvider, MasterKey

INFO_PREFIX = b"incidents/blind-index/v1/"
MIN_WIDTH = 1  # tests force collisions with one byte; the setting allows 2..32
MAX_WIDTH = 32  # all of HMAC-SHA256


# -- keyed hashing ------------------------------------------------------------------------


def derive_index_key(master: MasterKey, index_name: str) -> bytes:
    """The HMAC key of one index under one master key (HKDF-SHA256)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=INFO_PREFIX + index_name.encode("utf-8"),
    )
    return hkdf.derive(master.material)


@dataclass(frozen=True)
class Lookup:
    """The values to look for: master key id → truncated value → the terms it stands for.

    With a narrow width two terms can share a value; the mapping keeps both, so a
    caller can tell which of its terms an entry may stand for.
    """

    index_name: str
    values: dict[str, dict[bytes, frozenset[str]]]

    def terms_of(self, master_key_id: str, value: bytes) -> frozenset[str]:
        return self.values.get(master_key_id, {}).get(value, frozenset())


class BlindIndexer:
    """Computes entry values under the primary key and lookup values under every key."""

    def __init__(self, provider: KeyProvider, width: int) -> None:
        if not MIN_WIDTH <= width <= MAX_WIDTH:
            raise ValueError(f"blind-index width must be {MIN_WIDTH}..{MAX_WIDTH} bytes")
        self.provider = provider
        self.width = width
        self._keys: dict[tuple[str, str], bytes] = {}

    def _key(self, master: MasterKey, index_name: str) -> bytes:
        cache_key = (master.key_id, index_name)
        key = self._keys.get(cache_key)
        if key is None:
            key = self._keys[cache_key] = derive_index_key(master, index_name)
        return key

    def value(self, master: MasterKey, index_name: str, term: str) -> bytes:
        digest = hmac.digest(self._key(master, index_name), term.encode("utf-8"), "sha256")
        return digest[: self.width]

    def entry(self, index_name: str, term: str) -> tuple[str, bytes]:
        """(master key id, value) of a new entry: always under the primary key."""
        master = self.provider.primary()
        return master.key_id, self.value(master, index_name, term)

    def lookup(self, index_name: str, terms: Iterable[str]) -> Lookup:
        """The values `terms` have under every master key the provider holds."""
        wanted = sorted(set(terms))
        values: dict[str, dict[bytes, frozenset[str]]] = {}
        for key_id in self.provider.key_ids():
            master = self.provider.get(key_id)
            by_value: dict[bytes, frozenset[str]] = {}
            for term in wanted:
                value = self.value(master, index_name, term)
                by_value[value] = by_value.get(value, frozenset()) | {term}
            if by_value:
                values[key_id] = by_value
        return Lookup(index_name, values)
