"""Fuzzing the checkpoint, signed-note and proof parsers: ValidationError or a result,
never another exception, and never a result for altered signed text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from incidents.audit.proofs import check_proof, inclusion_document
from incidents.audit.signing import (
    Checkpoint,
    generate_signer,
    open_checkpoint,
    parse_checkpoint_body,
    sign_checkpoint,
)
from incidents.errors import ValidationError
from tests.audit import rfc6962
from tests.fuzz import FUZZ

ORIGIN = "log.example/fuzz"
SIGNER = generate_signer(ORIGIN)
WITNESS = generate_signer("witness.example")
EVENTS = [json.dumps({"id": n + 1, "v": 1}, sort_keys=True).encode() for n in range(6)]
NOTE = sign_checkpoint(SIGNER, ORIGIN, len(EVENTS), rfc6962.mth(EVENTS))
BODY = NOTE.split("\n\n")[0] + "\n"
PROOF = inclusion_document(EVENTS[3], 3, len(EVENTS), rfc6962.path(3, EVENTS), NOTE)
PROOF_TEXT = json.dumps(PROOF)

# What a note or proof is made of, and what breaks one: digits, base64, the em dash,
# Unicode spaces, controls, surrogates' neighbours and brackets.
PIECES = st.sampled_from(
    ["\n", "\n\n", "\u2014 ", " ", "+", "/", "=", "-", "_", "0", "00", "9" * 21, "\r", "\t",
     "\x00", "\u00a0", "\u3000", "\u0661", "[", "{", "]", "}", '"', "\\", "NaN", "é", "A"]
)  # fmt: skip
CHARACTERS = st.text(st.characters(codec="utf-8"), max_size=200)


@st.composite
def mutated(draw: st.DrawFn, original: str) -> str:
    """`original` with a few pieces inserted, characters deleted or replaced."""
    text = original
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        piece = draw(PIECES | CHARACTERS)
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif action == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        else:
            text = text[:at]
    return text


def _parse_body(text: str) -> Checkpoint | None:
    try:
        return parse_checkpoint_body(text)
    except ValidationError as error:
        assert str(error) and "\n" not in str(error)
        return None


@FUZZ
@given(text=CHARACTERS | mutated(BODY) | st.lists(PIECES | CHARACTERS).map("".join))
@example(text=BODY)
def test_the_checkpoint_parser_answers_with_a_checkpoint_or_one_line(text: str) -> None:
    checkpoint = _parse_body(text)
    if checkpoint is not None:  # what it read is what the text says, in its one spelling
        assert text.startswith(f"{checkpoint.origin}\n{checkpoint.size}\n")
        assert 0 <= checkpoint.size < 2**64 and len(checkpoint.root) == 32


@FUZZ
@given(note=mutated(NOTE) | mutated(NOTE + WITNESS.sign_note(BODY).split("\n\n")[1]))
@example(note=NOTE)
def test_the_signed_note_parser_never_accepts_altered_text(note: str) -> None:
    try:
        checkpoint = open_checkpoint(note, SIGNER.verifier)
    except ValidationError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert checkpoint.body() == BODY  # only the signature block may differ


@FUZZ
@given(note=CHARACTERS | st.lists(PIECES | CHARACTERS, max_size=40).map("".join))
def test_the_signed_note_parser_refuses_noise(note: str) -> None:
    try:
        open_checkpoint(note, SIGNER.verifier)
    except ValidationError as error:
        assert str(error) and "\n" not in str(error)
    else:
        raise AssertionError(f"noise was read as a checkpoint: {note!r}")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | CHARACTERS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(CHARACTERS, inner, max_size=4),
    max_leaves=20,
)


def _field_changes() -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from([*PROOF, "extra"])
    return st.dictionaries(names, JSON_VALUES, min_size=1, max_size=3)


def _check(text: str) -> str | None:
    try:
        return check_proof(text, SIGNER.verifier)
    except ValidationError as error:
        assert str(error) and "\n" not in str(error)
        return None


@FUZZ
@given(changes=_field_changes())
def test_the_proof_parser_answers_changed_fields_with_one_line(changes: dict[str, Any]) -> None:
    document = {**PROOF, **changes}
    if _check(json.dumps(document)) is not None:
        proved = ("event", "leaf_index", "tree_size", "inclusion_path", "checkpoint")
        assert all(document[name] == PROOF[name] for name in proved)


@FUZZ
@given(text=mutated(PROOF_TEXT) | CHARACTERS | JSON_VALUES.map(json.dumps))
@example(text="[" * 100_000)
@example(text=PROOF_TEXT)
def test_the_proof_parser_answers_any_text_with_one_line(text: str) -> None:
    if _check(text) is not None:
        document = json.loads(text)
        assert (document["event"], document["leaf_index"]) == (PROOF["event"], 3)
