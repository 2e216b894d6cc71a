"""Proof documents an auditor can check with the verifier key alone.

An inclusion proof shows that one event is leaf `leaf_index` of the tree a signed
checkpoint commits to; a consistency proof shows that the tree of a newer signed
checkpoint extends the tree of an older one (nothing before it changed). Both are JSON:

    {"format": "incidents-audit-proof/1", "kind": "inclusion",
     "event": "<the event's canonical bytes, as text>", "leaf_index": 41,
     "tree_size": 57, "inclusion_path": ["<base64 hash>", ...],
     "checkpoint": "<signed checkpoint note>"}

    {"format": "incidents-audit-proof/1", "kind": "consistency",
     "old_checkpoint": "<note>", "checkpoint": "<note>",
     "consistency_path": ["<base64 hash>", ...]}

`check_proof` needs nothing from the installation but the verifier key; the README
shows the same check in a dozen lines of standalone Python. A proof is bounded in size
and depth before it is parsed, and every value in it is read in its one spelling
(incidents/audit/encoding.py): what does not fit is one ValidationError line.
"""

from __future__ import annotations

import base64
from typing import Any

from incidents.audit import merkle
from incidents.audit.encoding import check_size, decode_hash, load_json
from incidents.audit.signing import Checkpoint, Verifier, open_checkpoint
from incidents.errors import ValidationError

FORMAT = "incidents-audit-proof/1"
# A tree of up to 2^64 leaves is 64 levels deep: an inclusion path holds at most 64
# hashes, a consistency path at most one per level and a few more; this bounds both.
MAX_PATH = 128
# Canonical events nest their detail a few levels; this bounds what a parser recurses into.
MAX_EVENT_DEPTH = 32


def _hashes(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


def inclusion_document(
    event: bytes, leaf_index: int, tree_size: int, path: list[bytes], checkpoint: str
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": "inclusion",
        "event": event.decode("ascii"),
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "inclusion_path": _hashes(path),
        "checkpoint": checkpoint,
    }


def consistency_document(old_checkpoint: str, checkpoint: str, path: list[bytes]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": "consistency",
        "old_checkpoint": old_checkpoint,
        "checkpoint": checkpoint,
        "consistency_path": _hashes(path),
    }


def _decode_path(value: Any) -> list[bytes]:
    if not isinstance(value, list):
        raise ValidationError("the proof's path must be a list of base64 hashes")
    if len(value) > MAX_PATH:
        raise ValidationError(f"the proof's path is longer than {MAX_PATH} hashes")
    return [decode_hash(item, "a hash of the proof's path") for item in value]


def _field(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationError(f"the proof has no valid {name!r}")
    return value


def check_proof(text: str, verifier: Verifier, origin: str | None = None) -> str:
    """Check a proof document; one line saying what it proves, or ValidationError.

    The checkpoints must be of the log `origin`, by default the verifier key's name (C2SP
    tlog-checkpoint: a log's key is named after its origin): a key trusted for one log
    says nothing about another log it may also sign for.
    """
    document = load_json(text, "the proof")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(f"not a proof of this format (expected format {FORMAT})")
    expected = verifier.name if origin is None else origin
    checkpoint = _open(_field(document, "checkpoint", str), verifier, expected)
    if document.get("kind") == "inclusion":
        return _check_inclusion(document, checkpoint)
    if document.get("kind") == "consistency":
        old = _open(_field(document, "old_checkpoint", str), verifier, expected)
        return _check_consistency(document, old, checkpoint)
    raise ValidationError("the proof's kind must be 'inclusion' or 'consistency'")


def _open(note: str, verifier: Verifier, origin: str) -> Checkpoint:
    checkpoint = open_checkpoint(note, verifier)
    if checkpoint.origin != origin:
        raise ValidationError(
            f"the checkpoint is of the log {checkpoint.origin!r}, not of {origin!r} "
            "(the log the key is for; name another with --origin)"
        )
    return checkpoint


def _event_position(event: str) -> int:
    parsed = load_json(event, "the proof's event", max_depth=MAX_EVENT_DEPTH)
    position = parsed.get("id") if isinstance(parsed, dict) else None
    if not isinstance(position, int) or isinstance(position, bool):
        raise ValidationError("the proof's event is not a canonical event")
    return position


def _check_inclusion(document: dict[str, Any], checkpoint: Checkpoint) -> str:
    event = _field(document, "event", str)
    index = check_size(document.get("leaf_index"), "the proof's leaf_index")
    size = check_size(document.get("tree_size"), "the proof's tree_size")
    if size != checkpoint.size:
        raise ValidationError(
            f"the proof is for a tree of {size} events, the checkpoint for {checkpoint.size}"
        )
    if index >= size:
        raise ValidationError(f"the proof's leaf {index} is outside a tree of {size} events")
    position = _event_position(event)
    if position != index + 1:
        raise ValidationError(f"the event says it is event {position}, the proof leaf {index}")
    leaf = merkle.leaf_hash(event.encode("utf-8"))
    path = _decode_path(document.get("inclusion_path"))
    if not merkle.verify_inclusion(index, size, leaf, path, checkpoint.root):
        raise ValidationError(
            f"the inclusion proof does not lead to the checkpoint's root: event {position} "
            f"is not, as given, in the log of {size} events"
        )
    return (
        f"event {position} is in the log {checkpoint.origin} of {size} events "
        f"(checkpoint signed {_when(checkpoint)})"
    )


def _check_consistency(document: dict[str, Any], old: Checkpoint, new: Checkpoint) -> str:
    if old.origin != new.origin:
        raise ValidationError(f"the checkpoints are of two logs: {old.origin} and {new.origin}")
    path = _decode_path(document.get("consistency_path"))
    if old.size == 0:
        # Every log extends the empty one, but only a checkpoint that says what an empty
        # log is (the hash of nothing) with nothing else attached is a proof of it.
        if old.root != merkle.EMPTY_ROOT:
            raise ValidationError("the old checkpoint is of 0 events but not of the empty tree")
        if new.size == 0 and new.root != merkle.EMPTY_ROOT:
            raise ValidationError("the checkpoint is of 0 events but not of the empty tree")
        if path:
            raise ValidationError("a consistency proof from the empty log holds no hashes")
        return f"the log {new.origin} of {new.size} events extends the empty log"
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        raise ValidationError(
            f"the log of {new.size} events does not extend the checkpointed log of {old.size}: "
            "its history was rewritten or truncated"
        )
    return (
        f"the log {new.origin} of {new.size} events (signed {_when(new)}) extends the log of "
        f"{old.size} events (signed {_when(old)}): none of those {old.size} events changed"
    )


def _when(checkpoint: Checkpoint) -> str:
    if checkpoint.signed_at is None:
        return "at an unstated time"
    return checkpoint.signed_at.strftime("%Y-%m-%d %H:%M UTC")
