"""Security check 1: for every secret column in the model metadata, a ciphertext moved to
another row, column, table or team fails to decrypt; so does a record whose data key is
gone. Runs on SQLite and PostgreSQL (the `app` fixture is parametrised over both).

The ciphertext is moved in the database with plain UPDATE statements, as someone with
write access to the database (and none to the master keys) could do.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from incidents.db import Base, secret_columns
from incidents.errors import DecryptionError
from incidents.models import DataKey
from incidents.vault import FieldVault
from tests import factories

SECRETS = [(table.name, column.key) for table, column in secret_columns()]
TABLES = sorted({table for table, _ in SECRETS})
COLUMNS_BY_TABLE = {table: [c for t, c in SECRETS if t == table] for table in TABLES}
SAME_ROW_PAIRS = [
    (table, source, target)
    for table, columns in COLUMNS_BY_TABLE.items()
    for source, target in itertools.permutations(columns, 2)
]
CROSS_TABLE_PAIRS = [
    (source_table, target_table, column)
    for (source_table, column), (target_table, other) in itertools.permutations(SECRETS, 2)
    if column == other
]

FACTORIES: dict[str, Any] = {
    "incidents": factories.IncidentFactory,
    "persons": factories.PersonFactory,
    "sources": factories.SourceFactory,
    "reports": factories.ReportFactory,
    "evidence": factories.EvidenceFactory,
    "consents": factories.ConsentFactory,
    "acts": factories.ActFactory,
    "involvements": factories.InvolvementFactory,
    "erasures": factories.ErasureFactory,
    "erasure_reviews": factories.ErasureReviewFactory,
}
MODELS = {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}

CANARY = "Canary 7f3a: Ахмед Х., ул. Ленина 12 — 🕊️"


@pytest.fixture
def fresh_vault(app: Flask, db_session: Session) -> Callable[[], FieldVault]:
    """Makes vaults with no cached data key, as each new request has."""
    return lambda: FieldVault(db_session, app.extensions["incidents.keys"])


def table_of(name: str) -> Table:
    return Base.metadata.tables[name]


def make_record(vault: FieldVault, table: str, team_id: uuid.UUID) -> Any:
    """A record of `table` in team `team_id`, with every secret column sealed."""
    record = FACTORIES[table](team_id=team_id, secrets=None)
    vault.seal(record, **{column: f"{CANARY} ({column})" for column in COLUMNS_BY_TABLE[table]})
    return record


def reload(session: Session, record: Any) -> Any:
    session.flush()
    session.expire_all()
    fresh = session.get(type(record), record.id)
    assert fresh is not None
    return fresh


def stored(session: Session, table: str, column: str, record_id: uuid.UUID) -> bytes:
    value = session.execute(
        select(table_of(table).c[column]).where(table_of(table).c.id == record_id)
    ).scalar_one()
    assert isinstance(value, bytes), f"{table}.{column} holds {type(value).__name__}"
    return value


def overwrite(session: Session, table: str, record_id: uuid.UUID, **values: Any) -> None:
    session.execute(update(table_of(table)).where(table_of(table).c.id == record_id).values(values))


def test_every_table_with_secrets_has_a_factory() -> None:
    missing = sorted(set(TABLES) - set(FACTORIES))
    assert not missing, f"add a factory for {missing} to tests/factories.py"


def test_there_are_same_row_and_cross_table_pairs_to_check() -> None:
    assert len(SAME_ROW_PAIRS) >= 10
    assert ("persons", "sources", "contact") in CROSS_TABLE_PAIRS


@pytest.mark.parametrize(("table", "column"), SECRETS, ids=[f"{t}.{c}" for t, c in SECRETS])
def test_secret_round_trips_and_is_stored_encrypted(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    table: str,
    column: str,
) -> None:
    team = factories.TeamFactory()
    record = reload(db_session, make_record(vault, table, team.id))
    ciphertext = stored(db_session, table, column, record.id)
    assert CANARY.encode() not in ciphertext
    assert fresh_vault().unseal(record, column) == {column: f"{CANARY} ({column})"}


@pytest.mark.parametrize(("table", "column"), SECRETS, ids=[f"{t}.{c}" for t, c in SECRETS])
def test_ciphertext_copied_to_another_row_fails(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    table: str,
    column: str,
) -> None:
    team = factories.TeamFactory()
    source, target = make_record(vault, table, team.id), make_record(vault, table, team.id)
    db_session.flush()
    overwrite(
        db_session, table, target.id, **{column: stored(db_session, table, column, source.id)}
    )
    target = reload(db_session, target)
    with pytest.raises(DecryptionError, match=f"field {column}: .*does not authenticate"):
        fresh_vault().unseal(target, column)
    with pytest.raises(DecryptionError):
        vault.unseal(target, column)
    # the source row itself is untouched and still opens
    assert fresh_vault().unseal(reload(db_session, source), column) == {
        column: f"{CANARY} ({column})"
    }


@pytest.mark.parametrize(
    ("table", "source", "target"),
    SAME_ROW_PAIRS,
    ids=[f"{t}.{s}->{d}" for t, s, d in SAME_ROW_PAIRS],
)
def test_ciphertext_copied_to_another_column_of_the_row_fails(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    table: str,
    source: str,
    target: str,
) -> None:
    record = make_record(vault, table, factories.TeamFactory().id)
    db_session.flush()
    overwrite(
        db_session, table, record.id, **{target: stored(db_session, table, source, record.id)}
    )
    record = reload(db_session, record)
    vault = fresh_vault()
    assert vault.unseal(record, source) == {source: f"{CANARY} ({source})"}
    with pytest.raises(DecryptionError, match=f"field {target}: .*does not authenticate"):
        vault.unseal(record, target)


@pytest.mark.parametrize(
    ("source_table", "target_table", "column"),
    CROSS_TABLE_PAIRS,
    ids=[f"{s}->{t}.{c}" for s, t, c in CROSS_TABLE_PAIRS],
)
def test_ciphertext_copied_to_the_same_column_of_another_table_fails(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    source_table: str,
    target_table: str,
    column: str,
) -> None:
    team = factories.TeamFactory()
    source, target = (
        make_record(vault, source_table, team.id),
        make_record(vault, target_table, team.id),
    )
    db_session.flush()
    ciphertext = stored(db_session, source_table, column, source.id)
    overwrite(db_session, target_table, target.id, **{column: ciphertext})
    with pytest.raises(DecryptionError):
        fresh_vault().unseal(reload(db_session, target), column)


@pytest.mark.parametrize(("table", "column"), SECRETS, ids=[f"{t}.{c}" for t, c in SECRETS])
def test_moving_the_record_to_another_team_fails(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    table: str,
    column: str,
) -> None:
    record = make_record(vault, table, factories.TeamFactory().id)
    other_team = factories.TeamFactory()
    assert vault.unseal(record, column) == {column: f"{CANARY} ({column})"}  # caches its key
    db_session.flush()
    overwrite(db_session, table, record.id, team_id=other_team.id)
    record = reload(db_session, record)
    assert record.team_id == other_team.id
    # a new vault fails to unwrap the data key, which is bound to the old team ...
    with pytest.raises(DecryptionError, match=f"data key of {table} {record.id}"):
        fresh_vault().unseal(record, column)
    # ... and a vault that unwrapped the key before the move does not reuse it: same failure
    with pytest.raises(DecryptionError, match=f"data key of {table} {record.id}"):
        vault.unseal(record, column)


@pytest.mark.parametrize(("table", "column"), SECRETS, ids=[f"{t}.{c}" for t, c in SECRETS])
def test_moving_the_record_and_its_data_key_to_another_team_fails(
    db_session: Session,
    vault: FieldVault,
    fresh_vault: Callable[[], FieldVault],
    table: str,
    column: str,
) -> None:
    """Changing team_id on the wrapped key row too does not help: the wrap binds the team."""
    record = make_record(vault, table, factories.TeamFactory().id)
    other_team = factories.TeamFactory()
    db_session.flush()
    overwrite(db_session, table, record.id, team_id=other_team.id)
    db_session.execute(
        update(DataKey)
        .where(DataKey.record_table == table, DataKey.record_id == record.id)
        .values(team_id=other_team.id)
    )
    with pytest.raises(DecryptionError):
        fresh_vault().unseal(reload(db_session, record), column)


@pytest.mark.parametrize("table", TABLES)
def test_wrapped_data_key_copied_to_another_record_fails(
    db_session: Session, vault: FieldVault, fresh_vault: Callable[[], FieldVault], table: str
) -> None:
    """Giving a record another record's wrapped key does not open either's fields."""
    team = factories.TeamFactory()
    source, target = make_record(vault, table, team.id), make_record(vault, table, team.id)
    db_session.flush()
    wrapped = db_session.scalars(
        select(DataKey.wrapped_key).where(
            DataKey.record_table == table, DataKey.record_id == source.id
        )
    ).one()
    db_session.execute(
        update(DataKey)
        .where(DataKey.record_table == table, DataKey.record_id == target.id)
        .values(wrapped_key=wrapped)
    )
    with pytest.raises(DecryptionError, match=f"data key of {table} {target.id}"):
        fresh_vault().unseal(reload(db_session, target))


@pytest.mark.parametrize("table", TABLES)
def test_record_whose_data_key_is_deleted_cannot_be_decrypted(
    db_session: Session, vault: FieldVault, fresh_vault: Callable[[], FieldVault], table: str
) -> None:
    record = make_record(vault, table, factories.TeamFactory().id)
    db_session.flush()
    deleted = db_session.execute(
        delete(DataKey).where(DataKey.record_table == table, DataKey.record_id == record.id)
    )
    assert deleted.rowcount == 1
    record = reload(db_session, record)
    assert all(getattr(record, column) is not None for column in COLUMNS_BY_TABLE[table])
    with pytest.raises(DecryptionError, match="data key is gone"):
        fresh_vault().unseal(record)
    for column in COLUMNS_BY_TABLE[table]:
        with pytest.raises(DecryptionError, match="data key is gone"):
            fresh_vault().unseal(record, column)


@pytest.mark.parametrize("table", TABLES)
def test_sealing_after_the_data_key_is_deleted_does_not_revive_old_ciphertext(
    db_session: Session, vault: FieldVault, fresh_vault: Callable[[], FieldVault], table: str
) -> None:
    """A new data key made for the record cannot open what the erased key sealed."""
    columns = COLUMNS_BY_TABLE[table]
    record = make_record(vault, table, factories.TeamFactory().id)
    db_session.flush()
    old = {column: stored(db_session, table, column, record.id) for column in columns}
    db_session.execute(
        delete(DataKey).where(DataKey.record_table == table, DataKey.record_id == record.id)
    )
    record = reload(db_session, record)
    fresh_vault().seal(record, **{columns[0]: "new value"})
    record = reload(db_session, record)
    overwrite(db_session, table, record.id, **{columns[0]: old[columns[0]]})
    with pytest.raises(DecryptionError):
        fresh_vault().unseal(reload(db_session, record), columns[0])


def test_factories_seal_into_the_records_own_team(db_session: Session, vault: FieldVault) -> None:
    """The records built here carry the team they were given (guards the tests above)."""
    team = factories.TeamFactory()
    for table in TABLES:
        record = make_record(vault, table, team.id)
        assert record.team_id == team.id
        assert isinstance(record, MODELS[table])
