"""The one converter from read models and column values to JSON-ready values, for
exports and the API."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def plain(value: Any) -> Any:
    """`value` as JSON can hold it: enums by value, ids and dates as text, read models
    (frozen dataclasses) as objects of their fields, recursively."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        raise TypeError("bytes are never serialised: a secret column's ciphertext?")
    return value
