"""The canonical bytes of an audit event: what its Merkle leaf hashes.

Version 1 is the event as one JSON object, exactly as Python's
`json.dumps(event, sort_keys=True)` writes it (separators ", " and ": ", every non-ASCII
character escaped as \\uXXXX, keys in code-point order), encoded as ASCII:

    {"action": ..., "actor": ..., "actor_id": ..., "detail": {...}, "fields": [...],
     "id": <position, from 1>, "occurred_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "target_id": ..., "target_ref": ..., "target_table": ..., "team_id": ..., "v": 1}

UUIDs are lowercase with hyphens; absent values are null. The form is chosen so that
the `fields` and `detail` columns hold, byte for byte, the JSON text that appears inside
it (record_event stores them with sorted keys and SQLAlchemy writes them with
`json.dumps`): verification splices the stored text in without parsing it, and parses it
only when the fast form does not match (see `canonical_from_text`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

FORMAT_VERSION = 1


def normalise_json(value: Any) -> Any:
    """`value` as it comes back from a JSON column, with every object's keys sorted."""
    return json.loads(json.dumps(value, sort_keys=True))


def timestamp_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    *,
    position: int,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    actor: str,
    action: str,
    target_table: str | None,
    target_id: str | None,
    target_ref: str | None,
    team_id: uuid.UUID | None,
    fields: list[str],
    detail: dict[str, Any],
) -> bytes:
    """The canonical bytes of an event from its Python values (the definition)."""
    document = {
        "action": action,
        "actor": actor,
        "actor_id": None if actor_id is None else str(actor_id),
        "detail": detail,
        "fields": fields,
        "id": position,
        "occurred_at": timestamp_text(occurred_at),
        "target_id": target_id,
        "target_ref": target_ref,
        "target_table": target_table,
        "team_id": None if team_id is None else str(team_id),
        "v": FORMAT_VERSION,
    }
    return json.dumps(document, sort_keys=True).encode("ascii")


# -- from the database's text, for verification ------------------------------------------


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def _uuid_text(value: str | None) -> str:
    """A UUID as stored: 32 hex digits on SQLite, hyphenated on PostgreSQL."""
    if value is None:
        return "null"
    if len(value) == 32:
        value = f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return f'"{value.lower()}"'


def _timestamp_from_text(value: str) -> str:
    """'YYYY-MM-DD HH:MM:SS[.f…]' (a UTC wall-clock time as the database prints it)."""
    fraction = value[20:26] if len(value) > 19 and value[19] == "." else ""
    return f'"{value[:10]}T{value[11:19]}.{fraction.ljust(6, "0")}Z"'


def canonical_from_text(row: Sequence[Any], reparse: bool = False) -> bytes:
    """The canonical bytes from a row read as text (UTC time, JSON as stored).

    `row` is (position, occurred_at, actor_id, actor, action, target_table, target_id,
    target_ref, team_id, fields, detail) as text. The stored JSON text is used as it is
    unless `reparse` is set; then it is parsed and written again in canonical form (for
    rows whose JSON was stored another way).
    """
    (position, occurred_at, actor_id, actor, action) = row[:5]
    (target_table, target_id, target_ref, team_id, fields, detail) = row[5:11]
    if reparse:
        fields = json.dumps(json.loads(fields), sort_keys=True)
        detail = json.dumps(json.loads(detail), sort_keys=True)
    text: str = (
        '{"action": '
        + _string(action)
        + ', "actor": '
        + _string(actor)
        + ', "actor_id": '
        + _uuid_text(actor_id)
        + ', "detail": '
        + detail
        + ', "fields": '
        + fields
        + ', "id": '
        + str(position)
        + ', "occurred_at": '
        + _timestamp_from_text(occurred_at)
        + ', "target_id": '
        + _string(target_id)
        + ', "target_ref": '
        + _string(target_ref)
        + ', "target_table": '
        + _string(target_table)
        + ', "team_id": '
        + _uuid_text(team_id)
        + f', "v": {FORMAT_VERSION}}}'
    )
    return text.encode("ascii", "backslashreplace")
