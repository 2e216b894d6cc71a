"""The strict text forms the audit log's notes and proofs are written in.

Parsers accept exactly one spelling of each value, the one the specifications define,
so that two parties never disagree about what a checkpoint or proof says: a tree size
is ASCII decimal without leading zeros that fits in 64 bits (C2SP tlog-checkpoint), a
hash is 32 bytes in canonical standard base64 (RFC 4648 §4, no URL-safe alphabet, no
whitespace, correct padding and zero trailing bits), and proof JSON is bounded in size
and depth before anything parses it. Everything else is a ValidationError of one line.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from incidents.audit.merkle import HASH_SIZE
from incidents.errors import ValidationError

MAX_UINT64 = 2**64 - 1
MAX_JSON_CHARACTERS = 2_000_000
MAX_JSON_DEPTH = 8

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
# What lies between the quotes of a JSON string, escapes included; nothing in it nests.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def parse_size(text: str, what: str) -> int:
    """A tree size or index: plain ASCII decimal, "0" or no leading zero, below 2**64."""
    if not _DECIMAL.fullmatch(text) or len(text) > 20:
        raise ValidationError(f"{what} must be a decimal number without leading zeros")
    value = int(text)
    if value > MAX_UINT64:
        raise ValidationError(f"{what} does not fit in 64 bits")
    return value


def check_size(value: Any, what: str) -> int:
    """A tree size or index given as a JSON number: an integer from 0 to 2**64 - 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{what} must be a whole number")
    if not 0 <= value <= MAX_UINT64:
        raise ValidationError(f"{what} must be between 0 and 2^64 - 1")
    return value


def decode_base64(text: Any, what: str) -> bytes:
    """Standard base64 in its one canonical spelling; anything else is refused."""
    if not isinstance(text, str) or not text.isascii():
        raise ValidationError(f"{what} is not base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:  # padding bits set, or no padding
        raise ValidationError(f"{what} is not canonical base64")
    return raw


def decode_hash(text: Any, what: str) -> bytes:
    """A SHA-256 hash in canonical base64."""
    raw = decode_base64(text, what)
    if len(raw) != HASH_SIZE:
        raise ValidationError(f"{what} must be a {HASH_SIZE}-byte hash, not {len(raw)} bytes")
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValidationError(f"the proof holds {name}, which is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValidationError("the proof names a field twice")
    return document


def nests_deeper_than(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth` in `text` (brackets inside
    strings aside); it stops at the first bracket too deep."""
    depth = 0
    for bracket in _JSON_BRACKETS.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > max_depth:
            return True
    return False


def load_json(
    text: str, what: str, max_characters: int = MAX_JSON_CHARACTERS, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Parse JSON no larger and no deeper than the bounds, or refuse it before parsing.

    The bounds come first because Python's parser recurses: a document nested a million
    levels deep would otherwise end in a RecursionError rather than a message.
    """
    if len(text) > max_characters:
        raise ValidationError(f"{what} is larger than {max_characters} characters")
    if nests_deeper_than(text, max_depth):
        raise ValidationError(f"{what} nests deeper than {max_depth} levels")
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer of 4,300+ digits
        raise ValidationError(f"{what} is not JSON") from None
