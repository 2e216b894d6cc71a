"""An audit event as a row: the columns its leaf covers, and a queued event's template.

The leaf of an event hashes its canonical bytes (incidents/audit/canonical.py): every
column between its id (the position) and its leaf hash. An event that is queued
(incidents/audit/sequencer.py) has no position yet: its row in audit_queue carries the
bytes with a gap for the position, which integration fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from incidents.audit.canonical import canonical_bytes
from incidents.models.audit import AuditEvent

__all__ = [
    "COLUMNS",
    "QUEUED_COLUMNS",
    "STATE_ROW",
    "TreeStateMissing",
    "event_bytes",
    "leaf_template",
    "row_bytes",
]

STATE_ROW = 1  # the id of the tree head's one row
COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor",
    "action",
    "target_table",
    "target_id",
    "target_ref",
    "team_id",
    "fields",
    "detail",
    "leaf_hash",
)
# What an event's leaf covers besides its position: every column between the two, and
# what a queued event holds of them.
_HASHED = COLUMNS[1:-1]
QUEUED_COLUMNS = _HASHED


class TreeStateMissing(RuntimeError):
    """The database has no audit tree head: it was not migrated to head."""

    def __init__(self) -> None:
        super().__init__("the audit log has no tree head: run `incidents db upgrade`")


def event_row(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in COLUMNS}


def event_bytes(event: AuditEvent) -> bytes:
    """The canonical bytes of an event object (see incidents/audit/canonical.py)."""
    return row_bytes(event_row(event))


# Where the position goes in an event's canonical bytes: the last `"id": ` at the top
# level (an earlier one can only be inside `detail`; what follows it holds no number).
_POSITION = b', "id": 0, "occurred_at": '


def leaf_template(event: AuditEvent) -> bytes:
    """The canonical bytes of a queued event with a NUL byte for its position (the bytes
    are ASCII and escape every control character, so no NUL is theirs)."""
    data = canonical_bytes(position=0, **{name: getattr(event, name) for name in _HASHED})
    cut = data.rindex(_POSITION) + len(', "id": ')
    return data[:cut] + b"\x00" + data[cut + 1 :]


def row_bytes(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an event read as a row of its columns (a backup's, say)."""
    return canonical_bytes(position=row["id"], **{name: row[name] for name in _HASHED})
