"""The audit log's parsers accept exactly what C2SP signed-note, C2SP tlog-checkpoint and
RFC 6962/9162 allow, and refuse everything else with one ValidationError line."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from incidents.audit import merkle
from incidents.audit.encoding import MAX_JSON_CHARACTERS
from incidents.audit.note import MAX_NOTE_CHARACTERS, MAX_SIGNATURES
from incidents.audit.proofs import MAX_PATH, check_proof, consistency_document, inclusion_document
from incidents.audit.signing import (
    Checkpoint,
    Signer,
    generate_signer,
    open_checkpoint,
    parse_checkpoint_body,
    sign_checkpoint,
)
from incidents.errors import ValidationError
from tests.audit import rfc6962
from tests.unit.test_cli import assert_one_line_error, clean_environment, run

ORIGIN = "log.example/strict"
ROOT = hashlib.sha256(b"a root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode("ascii")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return generate_signer(ORIGIN)


def _with_url_unsafe_characters() -> str:
    """A 32-byte hash whose base64 holds '+' or '/', spelt in the URL-safe alphabet."""
    for number in range(1000):
        encoded = base64.b64encode(hashlib.sha256(str(number).encode()).digest()).decode()
        if "+" in encoded or "/" in encoded:
            return encoded.replace("+", "-").replace("/", "_")
    raise AssertionError("no hash with '+' or '/' among a thousand")


def _with_trailing_bits(encoded: str) -> str:
    """The same bytes, but with the unused low bits of the last character set."""
    last = encoded.rstrip("=")[-1]
    changed = ALPHABET[ALPHABET.index(last) | 1]
    assert changed != last
    return encoded.rstrip("=")[:-1] + changed + "=" * (len(encoded) - len(encoded.rstrip("=")))


NON_CANONICAL_HASHES = {
    "no padding": ROOT_B64.rstrip("="),
    "extra padding": ROOT_B64 + "=",
    "url-safe alphabet": _with_url_unsafe_characters(),
    "a space inside": ROOT_B64[:10] + " " + ROOT_B64[10:],
    "a newline inside": ROOT_B64[:10] + "\n" + ROOT_B64[10:],
    "a trailing newline": ROOT_B64 + "\n",
    "trailing bits set": _with_trailing_bits(ROOT_B64),
    "31 bytes": base64.b64encode(ROOT[:31]).decode(),
    "33 bytes": base64.b64encode(ROOT + b"\0").decode(),
    "empty": "",
    "not ascii": ROOT_B64[:-2] + "é=",
}


# -- tree sizes ---------------------------------------------------------------------------

GOOD_SIZES = {"0": 0, "1": 1, "20852163": 20852163, str(2**64 - 1): 2**64 - 1}
BAD_SIZES = [
    "01", "00", "+1", "-1", " 1", "1 ", "1_000", "1.0", "1e3", "0x10",
    "\u0661", "\u00b2", "１", str(2**64), "9" * 30,
]  # fmt: skip


@pytest.mark.parametrize(("text", "size"), GOOD_SIZES.items())
def test_tree_sizes_in_their_one_spelling_are_read(signer: Signer, text: str, size: int) -> None:
    note = signer.sign_note(f"{ORIGIN}\n{text}\n{ROOT_B64}\n")
    assert open_checkpoint(note, signer.verifier).size == size


@pytest.mark.parametrize("text", BAD_SIZES)
def test_other_tree_sizes_are_refused(signer: Signer, text: str) -> None:
    note = signer.sign_note(f"{ORIGIN}\n{text}\n{ROOT_B64}\n")
    with pytest.raises(ValidationError, match=r"tree size|64 bits"):
        open_checkpoint(note, signer.verifier)


# -- root hashes --------------------------------------------------------------------------


@pytest.mark.parametrize("encoded", NON_CANONICAL_HASHES.values(), ids=NON_CANONICAL_HASHES)
def test_a_root_not_in_canonical_base64_is_refused(signer: Signer, encoded: str) -> None:
    body = f"{ORIGIN}\n7\n{encoded}\n"
    with pytest.raises(ValidationError, match=r"not a (checkpoint|signed note)"):
        parse_checkpoint_body(body)
    if "\n" not in encoded:
        with pytest.raises(ValidationError, match=r"not a (checkpoint|signed note)"):
            open_checkpoint(signer.sign_note(body), signer.verifier)


# -- note and checkpoint text -------------------------------------------------------------

CHECKPOINT = f"{ORIGIN}\n7\n{ROOT_B64}\n"
BAD_BODIES = {
    "empty origin": (f"\n7\n{ROOT_B64}\n", "must not be empty"),
    "two lines": (f"{ORIGIN}\n7\n", "needs an origin"),
    "an empty extension line": (f"{CHECKPOINT}time 2026-01-02T03:04:05Z\n\nmore\n", "empty"),
    "a loose time line": (f"{CHECKPOINT}time 2026-1-2T03:04:05Z\n", "not a UTC time"),
    "a local time line": (f"{CHECKPOINT}time 2026-01-02T03:04:05+01:00\n", "not a UTC time"),
    "no final newline": (CHECKPOINT[:-1], "end with a newline"),
    "a control character": (f"{ORIGIN}\x01\n7\n{ROOT_B64}\n", "control character"),
}


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES.values(), ids=BAD_BODIES)
def test_checkpoint_bodies_outside_the_spec_are_refused(body: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        parse_checkpoint_body(body)


def test_opaque_extension_lines_are_kept_out_of_the_way() -> None:
    checkpoint = parse_checkpoint_body(f"{CHECKPOINT}time 2026-01-02T03:04:05Z\nwitness x\n")
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 7, ROOT)
    assert checkpoint.signed_at is not None and checkpoint.signed_at.year == 2026


def _witness_lines(count: int) -> str:
    witnesses = [generate_signer(f"witness{n}.example") for n in range(min(count, 3))]
    lines = [
        witnesses[n % len(witnesses)].sign_note(CHECKPOINT).split("\n\n")[1] for n in range(count)
    ]
    return "".join(lines)


NoteChange = Callable[[str], str]
BAD_NOTES: dict[str, tuple[NoteChange, str]] = {
    "no final newline": (lambda note: note[:-1], "does not end with a newline"),
    "no blank line": (lambda note: note.replace("\n\n", "\n"), "no blank line"),
    "no signature lines": (lambda note: note.split("\n\n")[0] + "\n\n", "no signature lines"),
    "CRLF line endings": (lambda note: note.replace("\n", "\r\n"), "control character"),
    "a NUL": (lambda note: note.replace(ORIGIN, ORIGIN + "\0"), "control character"),
    "a tab in the origin": (lambda note: note.replace(ORIGIN, "log\tx", 1), "control character"),
    "an escape": (lambda note: "\x1b[2J" + note, "control character"),
    "a lone surrogate": (lambda note: note.replace("7", "\udcff", 1), "not valid UTF-8"),
    "a hyphen for the em dash": (lambda note: note.replace("\u2014 ", "-- "), "start with '— '"),
    "an empty key name": (lambda note: note.replace(f"— {ORIGIN} ", "—  "), "key name"),
    "a '+' in a key name": (lambda note: note + "— a+b AAAAAAAA\n", "key name"),
    "a no-break space in a name": (lambda note: note + "— a\u00a0b AAAAAAAA\n", "key name"),
    "an ideographic space": (lambda note: note + "— a\u3000b AAAAAAAA\n", "key name"),
    "a short signature": (lambda note: note + "— witness AAAA\n", "no signature after"),
    "unpadded signature": (lambda note: note + "— witness AAAAAAAAAA\n", "base64"),
    "a blank line inside the text": (
        lambda note: note.replace(f"{ORIGIN}\n", f"{ORIGIN}\n\n", 1),
        "does not verify|must not be empty",
    ),
    "too long": (lambda note: note + "x" * MAX_NOTE_CHARACTERS, "longer than"),
    "too many signatures": (lambda note: note + _witness_lines(MAX_SIGNATURES), "more than 100"),
}


@pytest.mark.parametrize(("change", "reason"), BAD_NOTES.values(), ids=BAD_NOTES)
def test_notes_outside_the_spec_are_refused(
    signer: Signer, change: NoteChange, reason: str
) -> None:
    note = signer.sign_note(CHECKPOINT)
    open_checkpoint(note, signer.verifier)  # as signed, it is read
    with pytest.raises(ValidationError, match=reason):
        open_checkpoint(change(note), signer.verifier)


def test_the_text_ends_at_the_last_blank_line(signer: Signer) -> None:
    """A signed text with a blank line in it is a note, but not a checkpoint."""
    note = signer.sign_note(f"{ORIGIN}\n\n7\n{ROOT_B64}\n")
    with pytest.raises(ValidationError, match="must not be empty"):
        open_checkpoint(note, signer.verifier)


def test_up_to_the_bound_other_signatures_are_ignored(signer: Signer) -> None:
    note = signer.sign_note(CHECKPOINT) + _witness_lines(MAX_SIGNATURES - 1)
    assert open_checkpoint(note, signer.verifier).size == 7


# -- Merkle hashes are 32 bytes -----------------------------------------------------------

LEAF = merkle.leaf_hash(b"event")
OTHER = merkle.leaf_hash(b"other")
Check = Callable[[], bool]
SHORT_HASHES: dict[str, Check] = {
    "an empty leaf and root": lambda: merkle.verify_inclusion(0, 1, b"", [], b""),
    "a short leaf and root": lambda: merkle.verify_inclusion(0, 1, LEAF[:31], [], LEAF[:31]),
    "a long leaf and root": lambda: merkle.verify_inclusion(0, 1, LEAF + b"!", [], LEAF + b"!"),
    "an empty sibling": lambda: merkle.verify_inclusion(
        0, 2, LEAF, [b""], merkle.node_hash(LEAF, b"")
    ),
    "an empty consistency node": lambda: merkle.verify_consistency(
        1, 2, LEAF, merkle.node_hash(LEAF, b""), [b""]
    ),
    "an empty old root": lambda: merkle.verify_consistency(1, 1, b"", b"", []),
    "a str for bytes": lambda: merkle.verify_inclusion(0, 1, LEAF.hex(), [], LEAF.hex()),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("check", SHORT_HASHES.values(), ids=SHORT_HASHES)
def test_values_that_are_not_32_byte_hashes_never_verify(check: Check) -> None:
    assert check() is False


def test_the_same_proofs_with_32_byte_hashes_verify() -> None:
    """The controls of the table above: only the hash lengths made those fail."""
    assert merkle.verify_inclusion(0, 1, LEAF, [], LEAF)
    assert merkle.verify_inclusion(0, 2, LEAF, [OTHER], merkle.node_hash(LEAF, OTHER))
    assert merkle.verify_consistency(1, 2, LEAF, merkle.node_hash(LEAF, OTHER), [OTHER])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.root_from_inclusion_proof(0, 2, LEAF, [b""])


# -- proof documents ----------------------------------------------------------------------

EVENTS = [json.dumps({"id": n + 1, "v": 1}, sort_keys=True).encode() for n in range(5)]


@pytest.fixture(scope="module")
def inclusion(signer: Signer) -> dict[str, Any]:
    note = sign_checkpoint(signer, ORIGIN, len(EVENTS), rfc6962.mth(EVENTS))
    document = inclusion_document(EVENTS[2], 2, len(EVENTS), rfc6962.path(2, EVENTS), note)
    assert "event 3 is in the log" in check_proof(json.dumps(document), signer.verifier)
    return document


def _path_item(encoded: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["inclusion_path"].__setitem__(0, encoded)


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document.__setitem__(name, value)


Tamper = Callable[[dict[str, Any]], None]
BAD_FIELDS: dict[str, tuple[Tamper, str]] = {
    **{
        f"leaf_index {value!r}": (_set("leaf_index", value), "leaf_index")
        for value in (-1, 2**64, 2.0, True, "2", None)
    },
    **{
        f"tree_size {value!r}": (_set("tree_size", value), "tree_size")
        for value in (-5, 2**64 + 5, 5.0, "5", [5])
    },
    "leaf_index past the tree": (lambda d: d.update(leaf_index=5), "outside a tree"),
    **{
        f"path hash, {name}": (_path_item(encoded), "path")
        for name, encoded in NON_CANONICAL_HASHES.items()
    },
    "path hash, a number": (_path_item(123), "path"),
    "a path too long": (lambda d: d.update(inclusion_path=[ROOT_B64] * (MAX_PATH + 1)), "longer"),
    "a deeply nested event": (lambda d: d.update(event="[" * 100_000), "nests deeper"),
    "an event whose id is true": (lambda d: d.update(event='{"id": true}'), "canonical event"),
    "an event that is a list": (lambda d: d.update(event="[3]"), "canonical event"),
}


@pytest.mark.parametrize(("tamper", "reason"), BAD_FIELDS.values(), ids=BAD_FIELDS)
def test_proof_fields_outside_their_form_are_refused(
    signer: Signer, inclusion: dict[str, Any], tamper: Tamper, reason: str
) -> None:
    document = json.loads(json.dumps(inclusion))
    tamper(document)
    with pytest.raises(ValidationError, match=reason):
        check_proof(json.dumps(document), signer.verifier)


BAD_TEXTS = {
    "deeply nested arrays": ("[" * 1_000_000, "nests deeper"),
    "deeply nested objects": ('{"a": ' * 200_000, "nests deeper"),
    "nested under a field": ('{"format": ' + "[" * 50 + "]" * 50 + "}", "nests deeper"),
    "huge": (" " * (MAX_JSON_CHARACTERS + 1), "larger than"),
    "NaN": ('{"tree_size": NaN}', "not JSON"),
    "Infinity": ('{"tree_size": -Infinity}', "not JSON"),
    "a 5000-digit number": ('{"tree_size": ' + "1" * 5000 + "}", "not JSON"),
    "a field twice": ('{"kind": "inclusion", "kind": "consistency"}', "twice"),
    "not JSON": ("{", "not JSON"),
    "empty": ("", "not JSON"),
}


@pytest.mark.parametrize(("text", "reason"), BAD_TEXTS.values(), ids=BAD_TEXTS)
def test_proof_texts_that_are_not_bounded_json_are_refused(
    signer: Signer, text: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        check_proof(text, signer.verifier)


def test_brackets_inside_strings_do_not_count_as_nesting(
    signer: Signer, inclusion: dict[str, Any]
) -> None:
    document = {**inclusion, "comment": "[" * 1000}
    assert "event 3" in check_proof(json.dumps(document), signer.verifier)


# -- consistency from the empty tree ------------------------------------------------------


def _from_empty(signer: Signer, old_root: bytes, path: list[bytes], new_size: int = 5) -> str:
    new_root = rfc6962.mth(EVENTS[:new_size])
    old = sign_checkpoint(signer, ORIGIN, 0, old_root)
    new = sign_checkpoint(signer, ORIGIN, new_size, new_root)
    document = consistency_document(old, new, path)
    return check_proof(json.dumps(document), signer.verifier)


def test_a_consistency_proof_from_the_empty_tree(signer: Signer) -> None:
    assert "extends the empty log" in _from_empty(signer, merkle.EMPTY_ROOT, [])
    assert "extends the empty log" in _from_empty(signer, merkle.EMPTY_ROOT, [], new_size=0)


@pytest.mark.parametrize(
    ("old_root", "path", "reason"),
    [
        (ROOT, [], "not of the empty tree"),
        (merkle.EMPTY_ROOT, [ROOT], "holds no hashes"),
        (ROOT, [ROOT], "not of the empty tree"),
    ],
)
def test_a_proof_from_size_0_must_match_its_root_and_carry_no_path(
    signer: Signer, old_root: bytes, path: list[bytes], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        _from_empty(signer, old_root, path)


def test_two_empty_checkpoints_must_both_be_of_the_empty_tree(signer: Signer) -> None:
    old = sign_checkpoint(signer, ORIGIN, 0, merkle.EMPTY_ROOT)
    new = signer.sign_note(Checkpoint(ORIGIN, 0, ROOT).body())
    with pytest.raises(ValidationError, match="not of the empty tree"):
        check_proof(json.dumps(consistency_document(old, new, [])), signer.verifier)


# -- the checkpoint's origin is the key's log ---------------------------------------------


def test_a_checkpoint_of_another_log_is_refused_unless_named(signer: Signer) -> None:
    note = sign_checkpoint(signer, "log.example/elsewhere", len(EVENTS), rfc6962.mth(EVENTS))
    document = json.dumps(inclusion_document(EVENTS[0], 0, 5, rfc6962.path(0, EVENTS), note))
    with pytest.raises(ValidationError, match=r"of the log 'log\.example/elsewhere', not of"):
        check_proof(document, signer.verifier)
    assert "in the log log.example/elsewhere" in check_proof(
        document, signer.verifier, origin="log.example/elsewhere"
    )


@pytest.mark.slow
def test_check_proof_at_the_command_line(tmp_path: Path, signer: Signer) -> None:
    """Two runs (another log's checkpoint, a deeply nested file): one line each."""
    environ = clean_environment(tmp_path / "instance")
    note = sign_checkpoint(signer, "log.example/elsewhere", len(EVENTS), rfc6962.mth(EVENTS))
    document = inclusion_document(EVENTS[0], 0, 5, rfc6962.path(0, EVENTS), note)
    (tmp_path / "other.json").write_text(json.dumps(document))
    (tmp_path / "deep.json").write_text("[" * 500_000)
    key = signer.verifier.vkey
    other = run(["audit", "check-proof", "other.json", "--key", key], tmp_path, environ)
    assert_one_line_error(other, "log.example/elsewhere", "--origin")
    deep = run(["audit", "check-proof", "deep.json", "--key", key], tmp_path, environ)
    assert_one_line_error(deep, "nests deeper")
