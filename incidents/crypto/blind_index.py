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

Names are normalised before hashing (`normalise_name`), so that spellings of the same
name in Cyrillic and Latin letters, with or without accents, in any case and word order,
reach the same entry.
"""

from __future__ import annotations

import enum
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from anyascii import anyascii
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from incidents.crypto.keys import KeyProvider, MasterKey

INFO_PREFIX = b"incidents/blind-index/v1/"
MIN_WIDTH = 1  # tests force collisions with one byte; the setting allows 2..32
MAX_WIDTH = 32  # all of HMAC-SHA256
MIN_TOKEN_LENGTH = 2  # single letters (initials) match too much to be worth an entry


# -- normalisation ------------------------------------------------------------------------

# Spelling variants of the same name that transliteration leaves apart. They apply, in
# this order and until nothing changes, to each word after transliteration to Latin
# letters. Each pair: (pattern, replacement), with an example of what it joins.
ROMANISATION_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    # Е written "ye" in English-style romanisation: Demoyev/Demoev, Yevgeny/Evgeny.
    (re.compile(r"ye"), "e", "Demoyev = Demoev"),
    # Ж and ДЖ: Zhanna/Janna, Dzhabrail/Djabrail/Jabrail.
    (re.compile(r"dzh|dj|zh"), "j", "Dzhabrail = Jabrail"),
    # Х: Zelimkhan/Zelimhan, Khasan/Hasan.
    (re.compile(r"kh"), "h", "Zelimkhan = Zelimhan"),
    # Ия before a vowel: Mariya/Maria.
    (re.compile(r"iy(?=[aeiou])"), "i", "Mariya = Maria"),
    # Final -ий, -ый: Dmitriy/Dmitry/Dmitrii/Dmitri.
    (re.compile(r"(?:iy|ii|yi|y)$"), "i", "Dmitriy = Dmitri"),
    # Doubled letters: Hassan/Hasan, Magomedd/Magomed.
    (re.compile(r"([a-z])\1+"), r"\1", "Hassan = Hasan"),
)

_APOSTROPHES = re.compile(r"['`\u2019\u02bc]")  # soft and hard signs come out as "'"
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"\w+")


def _fold(token: str) -> str:
    # Until nothing changes, so that folding is idempotent. It ends: every rule shortens
    # the word except final y -> i, and no rule makes a y.
    while True:
        before = token
        for pattern, replacement, _example in ROMANISATION_RULES:
            token = pattern.sub(replacement, token)
        if token == before:
            return token


def name_tokens(text: str) -> list[str]:
    """The words of a name, normalised, deduplicated and sorted.

    NFKC, case folding, transliteration of every script to Latin letters (which also
    drops accents), apostrophes dropped, other punctuation splits words, then the
    romanisation rules above fold common spelling variants of each word.
    """
    latin = anyascii(unicodedata.normalize("NFKC", text).casefold()).lower()
    latin = _APOSTROPHES.sub("", latin)
    words = (_fold(word) for word in _NOT_ALPHANUMERIC.split(latin))
    return sorted({word for word in words if word})


def normalise_name(text: str) -> str:
    """The normalised whole name: its tokens, sorted, joined by single spaces."""
    return " ".join(name_tokens(text))


def significant_tokens(text: str) -> list[str]:
    """Tokens long enough to have an index entry of their own."""
    return [token for token in name_tokens(text) if len(token) >= MIN_TOKEN_LENGTH]


def spelling_key(text: str) -> tuple[str, ...]:
    """The words as written (case, spacing and order aside): what "exact" compares.

    Apostrophes join words here as they do in `name_tokens`, so that two names spelled
    the same always normalise the same.
    """
    folded = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).casefold())
    return tuple(sorted(set(_WORD.findall(folded))))


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def normalise_date(text: str) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD (month and day may have one digit) as a zero-padded ISO
    date or partial date; None when it is not one or names no real day."""
    match = _PARTIAL_DATE.match(text.strip())
    if match is None:
        return None
    year = int(match.group(1))
    month, day = (int(part) if part else None for part in match.groups()[1:])
    try:
        date(year, month or 1, day or 1)  # year 0, month 13 and 30 February are refused
    except ValueError:
        return None
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def split_lines(text: str | None) -> list[str]:
    """Non-empty, stripped lines in order, each once (how aliases are stored)."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        line = " ".join(line.split())
        if line:
            seen.setdefault(line, None)
    return list(seen)


# -- what is indexed ----------------------------------------------------------------------


class FieldShape(enum.Enum):
    NAME = "name"  # one name: a whole-value entry and one entry per word
    NAMES = "names"  # one name per line: each line as NAME
    DATE = "date"  # an ISO date or partial date: one entry


@dataclass(frozen=True)
class IndexedField:
    table: str
    column: str
    shape: FieldShape
    whole_index: str  # the index of whole values
    token_index: str | None = None  # the index of single words, for partial matches


# Every secret column that has blind-index entries, in one place. An alias is a name of
# its own, so it has a whole-value entry as well as one per word.
INDEXED_FIELDS: tuple[IndexedField, ...] = (
    IndexedField("persons", "full_name", FieldShape.NAME, "person_name", "person_name_token"),
    IndexedField("persons", "aliases", FieldShape.NAMES, "person_name", "person_name_token"),
    IndexedField("persons", "date_of_birth", FieldShape.DATE, "person_dob"),
    IndexedField(
        "sources", "identity", FieldShape.NAME, "source_identity", "source_identity_token"
    ),
)


def indexed_fields(table: str) -> tuple[IndexedField, ...]:
    return tuple(f for f in INDEXED_FIELDS if f.table == table)


def index_terms(table: str, values: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(index name, normalised term) pairs for a record's plaintext `values`, each once."""
    terms: dict[tuple[str, str], None] = {}
    for indexed in indexed_fields(table):
        value = values.get(indexed.column)
        if not value:
            continue
        if indexed.shape is FieldShape.DATE:
            normalised = normalise_date(value)
            if normalised:
                terms.setdefault((indexed.whole_index, normalised), None)
            continue
        names = split_lines(value) if indexed.shape is FieldShape.NAMES else [value]
        for name in names:
            whole = normalise_name(name)
            if whole:
                terms.setdefault((indexed.whole_index, whole), None)
            if indexed.token_index is not None:
                for token in significant_tokens(name):
                    terms.setdefault((indexed.token_index, token), None)
    return list(terms)


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
