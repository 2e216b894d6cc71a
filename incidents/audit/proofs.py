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
shows the same check in a dozen lines of standalone Python.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from incidents.audit import merkle
from incidents.audit.signing import Checkpoint, Verifier, open_checkpoint
from incidents.errors import ValidationError

FORMAT = "incidents-audit-proof/1"


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
    try:
        path = [base64.b64decode(item, validate=True) for item in value]
    except (binascii.Error, TypeError, ValueError):
        raise ValidationError("the proof's path must be a list of base64 hashes") from None
    if any(len(h) != merkle.HASH_SIZE for h in path):
        raise ValidationError("every hash of the proof's path must be 32 bytes")
    return path


def _field(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationError(f"the proof has no valid {name!r}")
    return value


def check_proof(text: str, verifier: Verifier) -> str:
    """Check a proof document; one line saying what it proves, or ValidationError."""
    try:
        document = json.loads(text)
    except ValueError:
        raise ValidationError("the proof is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(f"not a proof of this format (expected format {FORMAT})")
    checkpoint = open_checkpoint(_field(document, "checkpoint", str), verifier)
    if document.get("kind") == "inclusion":
        return _check_inclusion(document, checkpoint)
    if document.get("kind") == "consistency":
        old = open_checkpoint(_field(document, "old_checkpoint", str), verifier)
        return _check_consistency(document, old, checkpoint)
    raise ValidationError("the proof's kind must be 'inclusion' or 'consistency'")


def _check_inclusion(document: dict[str, Any], checkpoint: Checkpoint) -> str:
    event = _field(document, "event", str)
    index = _field(document, "leaf_index", int)
    size = _field(document, "tree_size", int)
    if size != checkpoint.size:
        raise ValidationError(
            f"the proof is for a tree of {size} events, the checkpoint for {checkpoint.size}"
        )
    try:
        position = json.loads(event).get("id")
    except (ValueError, AttributeError):
        raise ValidationError("the proof's event is not a canonical event") from None
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
