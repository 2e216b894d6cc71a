"""The model metadata that encryption, redaction and exports rely on (the README's
"Encryption and field classes" and "Architecture")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    Uuid,
)

import incidents.models  # noqa: F401  (completes Base.metadata)
from incidents.db import FIELD_CLASS_KEY, Base, FieldClass, field_class_of, secret_columns
from incidents.vault import secret_field_names

TABLES = list(Base.metadata.sorted_tables)
COLUMNS = [(table, column) for table in TABLES for column in table.columns]
SECRETS = secret_columns()
SECRET_TABLES = sorted({table.name for table, _ in SECRETS})
POSTGRES_MAX_IDENTIFIER = 63

EXPECTED_SECRETS = {
    ("incidents", "narrative"),
    ("incidents", "place_detail"),
    ("persons", "full_name"),
    ("persons", "contact"),
    ("sources", "identity"),
    ("sources", "contact"),
    ("reports", "narrative"),
    ("evidence", "filename"),
    ("evidence", "description"),
    ("consents", "notes"),
    ("acts", "notes"),
    ("involvements", "perpetrator_names"),
}


def name_of(item: tuple[Table, Column[Any]]) -> str:
    table, column = item
    return f"{table.name}.{column.name}"


def test_metadata_holds_the_case_record_tables() -> None:
    names = {table.name for table in TABLES}
    assert {"incidents", "persons", "sources", "reports", "evidence", "data_keys"} <= names


@pytest.mark.parametrize("item", COLUMNS, ids=[name_of(c) for c in COLUMNS])
def test_every_column_has_a_field_class(item: tuple[Table, Column[Any]]) -> None:
    table, column = item
    assert FIELD_CLASS_KEY in column.info, (
        f"{table.name}.{column.name} declares no field class; use public(), restricted(), "
        "secret() or system() from incidents.db"
    )
    assert isinstance(field_class_of(column), FieldClass)


def test_secret_columns_include_the_identifying_fields() -> None:
    found = {(table.name, column.name) for table, column in SECRETS}
    missing = EXPECTED_SECRETS - found
    assert not missing, f"not secret: {sorted(missing)}"


def test_secret_columns_agree_with_the_vault() -> None:
    """The vault seals exactly the secret columns, under their mapped attribute names."""
    by_table: dict[str, list[str]] = {}
    for table, column in SECRETS:
        by_table.setdefault(table.name, []).append(column.name)
    mapped = {mapper.class_.__tablename__: mapper for mapper in Base.registry.mappers}
    assert set(by_table) <= set(mapped), "a table with secret columns has no mapped class"
    for table_name, mapper in mapped.items():
        names = secret_field_names(mapper.class_)
        assert names == by_table.get(table_name, []), table_name
        for name in names:
            assert name in mapper.attrs, f"{table_name}.{name} is not a mapped attribute"


@pytest.mark.parametrize("item", SECRETS, ids=[name_of(c) for c in SECRETS])
def test_secret_column_holds_nullable_bytes_only(item: tuple[Table, Column[Any]]) -> None:
    table, column = item
    where = f"{table.name}.{column.name}"
    assert isinstance(column.type, LargeBinary), f"{where} must be LargeBinary ciphertext"
    assert column.nullable, f"{where} must be nullable (NULL when unset, or erased)"
    assert column.default is None, f"{where} has a default: it would be stored unencrypted"
    assert column.server_default is None, f"{where} has a server default"
    assert not column.primary_key, f"{where} is part of a primary key"
    assert not column.foreign_keys, f"{where} is a foreign key"
    assert not column.index, f"{where} is indexed: random ciphertext makes an index useless"
    assert not column.unique, f"{where} is unique"
    for index in table.indexes:
        assert column.name not in index.columns, f"{where} is in index {index.name}"
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            assert column.name not in constraint.columns, f"{where} is in {constraint.name}"


@pytest.mark.parametrize("table_name", SECRET_TABLES)
def test_table_with_secrets_names_its_team_and_has_one_uuid_id(table_name: str) -> None:
    """The vault binds each ciphertext to (table, column, id, team_id)."""
    table = Base.metadata.tables[table_name]
    assert "team_id" in table.columns, f"{table_name} has secret columns but no team_id"
    team_id = table.columns["team_id"]
    assert not team_id.nullable, f"{table_name}.team_id must be NOT NULL"
    assert {fk.column.table.name for fk in team_id.foreign_keys} == {"teams"}
    primary_key = list(table.primary_key.columns)
    assert [column.name for column in primary_key] == ["id"], (
        f"{table_name} needs a single `id` primary key for the associated data"
    )
    assert isinstance(primary_key[0].type, Uuid)
    assert primary_key[0].default is not None, (
        f"{table_name}.id must be generated in Python, so the id exists before the flush"
    )


@pytest.mark.parametrize("table_name", SECRET_TABLES)
def test_team_id_of_a_table_with_secrets_is_not_itself_secret(table_name: str) -> None:
    column = Base.metadata.tables[table_name].columns["team_id"]
    assert field_class_of(column) is not FieldClass.SECRET


def test_binary_columns_are_secret_or_system() -> None:
    """Any other bytes column would be plaintext nobody thought about."""
    for table, column in COLUMNS:
        if isinstance(column.type, LargeBinary):
            assert field_class_of(column) in (FieldClass.SECRET, FieldClass.SYSTEM), (
                f"{table.name}.{column.name}"
            )


def test_data_keys_are_system_columns() -> None:
    table = Base.metadata.tables["data_keys"]
    for column in table.columns:
        if column.name in ("wrapped_key", "master_key_id", "record_id", "team_id"):
            assert field_class_of(column) is FieldClass.SYSTEM, column.name


# -- naming convention ------------------------------------------------------------------

PREFIXES = {
    PrimaryKeyConstraint: "pk",
    ForeignKeyConstraint: "fk",
    UniqueConstraint: "uq",
    CheckConstraint: "ck",
}


def constraint_names() -> list[tuple[str, str, str]]:
    """(table, expected prefix, name) of every constraint and index."""
    found = []
    for table in TABLES:
        for constraint in table.constraints:
            prefix = PREFIXES[type(constraint)]
            found.append((table.name, prefix, str(constraint.name)))
        for index in table.indexes:
            found.append((table.name, "ix", str(index.name)))
    # Constraints and indexes are sets: sorted, so that every test worker collects the
    # same parameters in the same order.
    return sorted(found)


NAMES = constraint_names()


@pytest.mark.parametrize(("table", "prefix", "name"), NAMES, ids=[n for _, _, n in NAMES])
def test_constraint_and_index_names_follow_the_convention(
    table: str, prefix: str, name: str
) -> None:
    if prefix == "pk":
        assert name == f"pk_{table}"
    else:
        assert re.fullmatch(rf"{prefix}_{re.escape(table)}_[a-z0-9_]+", name), (
            f"{name!r} on {table} does not follow {prefix}_{table}_..."
        )
    assert len(name) <= POSTGRES_MAX_IDENTIFIER, f"{name} is cut short by PostgreSQL"


def test_constraint_names_are_unique() -> None:
    names = [name for _, _, name in NAMES]
    assert len(names) == len(set(names))


def test_every_table_has_a_primary_key() -> None:
    for table in TABLES:
        assert table.primary_key.columns, table.name
