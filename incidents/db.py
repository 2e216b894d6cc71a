"""Declarative base, naming convention, field classes and the shared column helpers.

Every column declares its field class next to it (public, restricted, secret, or system
for account and key bookkeeping that never leaves the installation). Encryption,
redaction, exports and access checks read the class from the column's `info`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class FieldClass(enum.StrEnum):
    """How sensitive a column is (the README's "Encryption and field classes")."""

    PUBLIC = "public"  # may appear in redacted summaries and public exports
    RESTRICTED = "restricted"  # internal, non-identifying: researchers and auditors
    SECRET = "secret"  # noqa: S105 — encrypted at rest; researchers of the record's team only
    # The advocacy team's own working records — priorities, what targets answered,
    # follow-ups, what a linked report supports: internal, never in partner or public
    # outputs, and apart from `restricted` so that opening them opens no case field.
    ADVOCACY = "advocacy"
    SYSTEM = "system"  # credentials, keys, bookkeeping: never exported or shown as data


FIELD_CLASS_KEY = "field_class"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _info(field_class: FieldClass, info: dict[str, Any] | None) -> dict[str, Any]:
    return {**(info or {}), FIELD_CLASS_KEY: field_class}


def public(*args: Any, info: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A column that may appear in redacted summaries and public exports."""
    return mapped_column(*args, info=_info(FieldClass.PUBLIC, info), **kwargs)


def restricted(*args: Any, info: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """An internal, non-identifying column: researchers and auditors of the team."""
    return mapped_column(*args, info=_info(FieldClass.RESTRICTED, info), **kwargs)


def advocacy(*args: Any, info: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """An advocacy working field: advocacy leads, researchers and auditors of the team."""
    return mapped_column(*args, info=_info(FieldClass.ADVOCACY, info), **kwargs)


def system(*args: Any, info: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Credentials, keys and bookkeeping: never exported, never shown as case data."""
    return mapped_column(*args, info=_info(FieldClass.SYSTEM, info), **kwargs)


def secret(comment: str | None = None) -> Any:
    """An encrypted column: holds version | nonce | ciphertext+tag, NULL when unset.

    The attribute holds ciphertext bytes; plaintext comes only from the sealing service,
    after an access check, so a template that reaches the attribute shows no secret.
    """
    return mapped_column(
        LargeBinary, nullable=True, info=_info(FieldClass.SECRET, None), comment=comment
    )


class Versioned:
    """An optimistic lock: each update raises `lock_version`, and an edit made from an
    older version than the stored one is refused (EditConflict) rather than lost."""

    lock_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, info=_info(FieldClass.RESTRICTED, None)
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (a class attribute)
        return {"version_id_col": cls.__table__.c.lock_version}  # type: ignore[attr-defined]


def uuid_pk() -> Any:
    """Primary key generated in Python, so a record has its id (and its associated data)
    before the first flush."""
    return mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, info=_info(FieldClass.RESTRICTED, None)
    )


def created_at() -> Any:
    return mapped_column(
        UtcDateTime, nullable=False, default=utcnow, info=_info(FieldClass.RESTRICTED, None)
    )


def updated_at() -> Any:
    return mapped_column(
        UtcDateTime,
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        info=_info(FieldClass.RESTRICTED, None),
    )


def enum_type(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enum stored as its values, with a named CHECK constraint."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(str(m.value)) for m in enum_class),
        values_callable=lambda members: [str(m.value) for m in members],
        validate_strings=True,
    )


def field_class_of(column: Column[Any]) -> FieldClass | None:
    value = column.info.get(FIELD_CLASS_KEY)
    return FieldClass(value) if value is not None else None


def columns_of_class(
    field_class: FieldClass, metadata: MetaData | None = None
) -> Iterator[tuple[Table, Column[Any]]]:
    """Every (table, column) of the given field class, e.g. all secret columns."""
    for table in (metadata or Base.metadata).sorted_tables:
        for column in table.columns:
            if field_class_of(column) is field_class:
                yield table, column


def secret_columns(metadata: MetaData | None = None) -> list[tuple[Table, Column[Any]]]:
    return list(columns_of_class(FieldClass.SECRET, metadata))
