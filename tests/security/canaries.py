"""What the canary tests plant: a value no page could show by chance, and the columns of
a model that hold typed text of some field classes (found from the metadata, so a new
column is covered without a list to keep)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Column, Enum, String, Text

from incidents.db import FieldClass, field_class_of
from tests.security.test_12_canary_crawl import TAIL


def canary(table: str, column: str, length: int | None = None) -> str:
    """A canary naming where it was planted; a short one for a column of `length` that
    the long form would not fit."""
    value = f"CANARY-{table}-{column}-{secrets.token_hex(4)}{TAIL}"
    if length is not None and len(value) > length:
        value = f"CNRY{secrets.token_hex(6)}"
    return value


def typed_columns(
    model: type[Any], classes: set[FieldClass], min_length: int = 0
) -> list[Column[Any]]:
    """The columns of `model` of `classes` that hold typed text: no enum, no key, none
    shorter than `min_length` (where a canary could match by chance, as a country)."""
    return [
        column
        for column in model.__table__.columns
        if field_class_of(column) in classes
        and isinstance(column.type, String | Text)
        and not isinstance(column.type, Enum)
        and not column.foreign_keys
        and column.name not in ("id", "reference")
        and (getattr(column.type, "length", None) or min_length) >= min_length
    ]
