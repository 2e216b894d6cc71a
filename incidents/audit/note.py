"""Reading signed notes exactly as C2SP signed-note defines them.

A signed note is UTF-8 text without control characters other than newline: a text
ending in a newline, a blank line, then one or more signature lines "— <key name>
base64(key id || signature)", each ending in a newline. The text ends at the LAST blank
line. Parsing checks the form only; which signatures are checked, and with which key,
is the caller's business (signing.open_checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.audit.encoding import decode_base64
from incidents.errors import ValidationError

SIGNATURE_DASH = "\u2014 "  # an em dash and a space start every signature line
# Go's golang.org/x/mod/sumdb/note refuses a note with more; the spec asks for a bound.
MAX_SIGNATURES = 100
# Sixteen post-quantum signatures (the spec's minimum) take about 80 kB; this is ample.
MAX_NOTE_CHARACTERS = 1_000_000


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]


def is_key_name(name: str) -> bool:
    """Non-empty, with neither Unicode spaces nor '+' (C2SP signed-note)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _refuse(reason: str) -> ValidationError:
    return ValidationError(f"not a signed note: {reason}")


def _check_characters(note: str) -> None:
    if len(note) > MAX_NOTE_CHARACTERS:
        raise _refuse(f"it is longer than {MAX_NOTE_CHARACTERS} characters")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the bytes read were not UTF-8
        raise _refuse("it is not valid UTF-8") from None
    if any(ch < " " and ch != "\n" for ch in note):
        raise _refuse("it holds a control character (only newlines may end its lines)")


def _signature(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_DASH):
        raise _refuse("a signature line must start with '— '")
    name, _, encoded = line[len(SIGNATURE_DASH) :].partition(" ")
    if not is_key_name(name):
        raise _refuse("a signature line's key name is empty or holds a space or '+'")
    raw = decode_base64(encoded, "a signature line of the note")
    if len(raw) < 5:
        raise _refuse("a signature line holds no signature after its key id")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_note(note: str) -> Note:
    """The text and signature lines of `note`; ValidationError (one line) if malformed."""
    _check_characters(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise _refuse("no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise _refuse("no signature lines after the blank line")
    if not block.endswith("\n"):
        raise _refuse("its last line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _refuse(f"more than {MAX_SIGNATURES} signature lines")
    return Note(text, tuple(_signature(line) for line in lines))
