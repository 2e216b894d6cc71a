"""Name folding: what makes two spellings of one name the same, for blind indexes and for
confirming a match after decryption. Pure functions; no keys, no database.

Spellings of the same name in Cyrillic and Latin letters, with or without accents, in any
case and word order, fold to the same tokens (`normalise_name`), so they reach the same
blind-index entry and are recognised as the same name once decrypted.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from anyascii import anyascii

MIN_TOKEN_LENGTH = 2  # single letters (initials) match too much to be worth an entry

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


# Units are names of formations, written with abbreviations and ordinals that names are
# not: "3rd Bn" and "3 battalion" are one unit. Each abbreviation becomes the word it
# stands for (folded like any word), filler words go, and "3rd" is 3. The list is short
# on purpose: every entry merges whatever else is written the same way.
_UNIT_WORDS = {
    "battalion": ("bn", "btn", "batn", "batalon"),  # batalon: Батальон, transliterated
    "brigade": ("bde", "brig"),
    "regiment": ("regt", "rgt"),
    "company": ("coy",),
    "division": ("div",),
    "squadron": ("sqn", "sqdn"),
    "detachment": ("det",),
    "department": ("dept",),
    "special": ("spec",),
}
_UNIT_SPELLINGS = {
    _fold(short): _fold(word) for word, shorts in _UNIT_WORDS.items() for short in shorts
}
_UNIT_FILLER = frozenset({"no", "nr", "number", "the", "of"})
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_ITEM_SEPARATOR = re.compile(r"[;\n]")


def normalise_unit(text: str) -> str:
    """A unit's normalised name: `normalise_name` with abbreviations spelled out, ordinals
    as numbers and filler words ("No.", "the", "of") left out."""
    words = set()
    for token in name_tokens(text):
        ordinal = _ORDINAL.match(token)
        token = ordinal.group(1) if ordinal else _UNIT_SPELLINGS.get(token, token)
        if token not in _UNIT_FILLER:
            words.add(token)
    return " ".join(sorted(words))


def split_items(text: str | None) -> list[str]:
    """Values written one per line or separated by semicolons, each once, in order."""
    return split_lines(_ITEM_SEPARATOR.sub("\n", text or ""))
