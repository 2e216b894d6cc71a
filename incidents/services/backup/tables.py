"""Tables as an archive describes them: columns with logical types, rows as JSON values.

A backup names each column's logical type (uuid, datetime, date, bytes, json, int, bool,
str) rather than the database's, so rows dumped from SQLite load into PostgreSQL and
back. The same description builds the plain Core tables rows are read with and written
through: enumerations travel as the strings stored, not as Python members, and nothing
depends on the models of the code that restores them (an archive of an older schema
is loaded at its own revision, then migrated).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.types import TypeEngine

from incidents.db import Base, UtcDateTime
from incidents.models.evidence_blob import STORE_TABLES

# Checked in this order: a subclass (SmallInteger, Text, Enum) meets its family first.
_TAGS: list[tuple[type[TypeEngine[Any]], str]] = [
    (UtcDateTime, "datetime"),
    (sqltypes.Uuid, "uuid"),
    (sqltypes.DateTime, "datetime"),
    (sqltypes.Date, "date"),
    (sqltypes.LargeBinary, "bytes"),
    (sqltypes.JSON, "json"),
    (sqltypes.Boolean, "bool"),
    (sqltypes.Integer, "int"),
    (sqltypes.String, "str"),
]
TYPE_TAGS = frozenset(tag for _, tag in _TAGS)
# Migrations own alembic_version; the database evidence store's tables hold the evidence
# files, which an archive carries as files through the store, whichever store it is (as
# rows as well, each file would be in it twice). A backup reads and writes neither as data.
NOT_DATA = frozenset({"alembic_version", *STORE_TABLES})
# Rows a migration seeds: restored by moving the seeded row, not by inserting it.
SEEDED = "audit_tree_state"


def _plain_type(tag: str) -> TypeEngine[Any]:
    plain: dict[str, TypeEngine[Any]] = {
        "datetime": UtcDateTime(),
        "uuid": Uuid(),
        "date": Date(),
        "bytes": LargeBinary(),
        "json": JSON(none_as_null=True),
        "bool": Boolean(),
        "int": BigInteger(),
        "str": Text(),
    }
    return plain[tag]


def type_tag(column_type: TypeEngine[Any]) -> str:
    for family, tag in _TAGS:
        if isinstance(column_type, family):
            return tag
    raise TypeError(f"no backup type for a column of type {column_type!r}")


@dataclass(frozen=True)
class TableLayout:
    """One table as the archive describes it: name, columns, primary key."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type tag)
    primary_key: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": [list(pair) for pair in self.columns],
            "primary_key": list(self.primary_key),
        }

    @classmethod
    def from_json(cls, document: Any) -> TableLayout:
        columns = tuple((str(name), str(tag)) for name, tag in document["columns"])
        unknown = sorted({tag for _, tag in columns} - TYPE_TAGS)
        if unknown:
            raise ValueError(f"unknown column types {unknown}")
        return cls(str(document["name"]), columns, tuple(map(str, document["primary_key"])))

    def table(self, metadata: MetaData) -> Table:
        return Table(
            self.name,
            metadata,
            *(
                Column(name, _plain_type(tag), primary_key=name in self.primary_key)
                for name, tag in self.columns
            ),
        )


def current_layouts() -> list[TableLayout]:
    """Every table of the code's schema, parents before children (foreign-key order)."""
    layouts = []
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_DATA:
            continue
        columns = tuple((column.name, type_tag(column.type)) for column in table.columns)
        layouts.append(
            TableLayout(table.name, columns, tuple(c.name for c in table.primary_key.columns))
        )
    return layouts


def _encode(tag: str, value: Any) -> Any:
    if value is None:
        return None
    if tag == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if tag in ("uuid", "date", "datetime"):
        return str(value) if tag == "uuid" else value.isoformat()
    return value


def _decode(tag: str, value: Any) -> Any:
    if value is None:
        return None
    if tag == "bytes":
        return base64.b64decode(value, validate=True)
    if tag == "uuid":
        return uuid.UUID(value)
    if tag == "datetime":
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a time without its zone")
        return parsed
    if tag == "date":
        return date.fromisoformat(value)
    if tag == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{value!r} is not a whole number")
    if tag == "bool" and not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    if tag == "str" and not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def encode_row(layout: TableLayout, row: Sequence[Any]) -> bytes:
    """One JSON line: the row's values in column order."""
    values = [_encode(tag, value) for (_, tag), value in zip(layout.columns, row, strict=True)]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_row(layout: TableLayout, line: bytes) -> dict[str, Any]:
    """The row of one JSON line as column values; ValueError if it does not fit the table."""
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != len(layout.columns):
        raise ValueError(f"a row of {layout.name} must hold {len(layout.columns)} values")
    return {name: _decode(tag, value) for (name, tag), value in zip(layout.columns, values)}  # noqa: B905
