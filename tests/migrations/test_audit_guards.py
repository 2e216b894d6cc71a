"""The audit-log migration: existing events hashed, triggers that refuse UPDATE and DELETE.

On SQLite and PostgreSQL: events written before the migration (with a gap a rolled-back
sequence value left) get dense positions, leaf hashes and a tree head that verifies;
afterwards the database refuses to change or remove them; the downgrade takes it all away.
"""

from __future__ import annotations

import ast
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.audit.log import Actor, record_event
from incidents.audit.signing import generate_signer
from incidents.crypto.keys import MasterKey
from incidents.paths import data_dir
from incidents.services import audit_log
from tests.audit import rfc6962
from tests.audit.conftest import ACTION, all_event_bytes, operator_context

BOTH_BACKENDS = pytest.mark.parametrize(
    "fresh_database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
BEFORE = "3e5d41f9773d"
AUDIT_REVISION = "ff54313ac372"
BEFORE_BATCHES = "d3f6a9c4eb37"  # the revision before the head moved by a whole append
MIGRATION = (
    data_dir("migrations") / "versions" / "20261124_1240_ff54313ac372_audit_log_merkle_tree.py"
)


def _old_event(connection: Connection, event_id: int) -> None:
    sqlite = connection.dialect.name == "sqlite"
    connection.execute(
        text(
            "INSERT INTO audit_events (id, occurred_at, actor_id, actor, action, target_table, "
            "target_id, fields, detail) VALUES (:id, :at, :actor_id, 'old@example.org', "
            "'record.create', 'incidents', :target, :fields, :detail)"
        ),
        {
            "id": event_id,
            "at": datetime(2017, 4, 1, 12, 0, event_id, tzinfo=UTC).isoformat(sep=" "),
            "actor_id": uuid.uuid4().hex if sqlite else uuid.uuid4(),
            "target": str(uuid.uuid4()),
            "fields": json.dumps(["title", "summary"]),
            "detail": json.dumps({"z": 1, "a": "ä"}),
        },
    )


def _refused(engine: Engine, statement: str) -> None:
    with engine.connect() as connection, pytest.raises(DBAPIError, match=r"append-only|grows"):
        connection.execute(text(statement))


@BOTH_BACKENDS
def test_existing_events_are_hashed_and_then_guarded(
    engine: Engine, master_key: MasterKey, tmp_path: Path
) -> None:
    migrate.upgrade(engine, BEFORE)
    with engine.begin() as connection:
        for event_id in (1, 2, 5):  # 3 and 4 were rolled back
            _old_event(connection, event_id)
    migrate.upgrade(engine, AUDIT_REVISION)

    origin = "migration.example/log"
    signer = generate_signer(origin)
    with Session(engine) as session:
        ctx = operator_context(session, master_key, tmp_path / "evidence", origin)
        outcome = audit_log.verify_log(ctx, signer.verifier)
        assert outcome.ok, outcome.problem
        assert outcome.size == 3
        assert outcome.root == rfc6962.mth(all_event_bytes(session))

    _refused(engine, "UPDATE audit_events SET actor = 'someone else' WHERE id = 1")
    _refused(engine, "DELETE FROM audit_events WHERE id = 3")
    _refused(engine, "UPDATE audit_tree_state SET size = 0")
    if engine.dialect.name == "postgresql":
        _refused(engine, "TRUNCATE audit_events")

    migrate.downgrade(engine, BEFORE)
    assert "audit_tree_state" not in inspect(engine).get_table_names()
    assert "leaf_hash" not in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    with engine.begin() as connection:  # no trigger left behind
        connection.execute(text("UPDATE audit_events SET actor = 'x' WHERE id = 1"))
        connection.execute(text("DELETE FROM audit_events WHERE id = 3"))
    migrate.upgrade(engine)


def _head(engine: Engine) -> tuple[int, bytes]:
    with engine.connect() as connection:
        size, root = connection.execute(
            text("SELECT size, root FROM audit_tree_state WHERE id = 1")
        ).one()
    return int(size), bytes(root)


def _raw_event(connection: Connection, position: int) -> None:
    """An event inserted behind the application's back (INSERT is not refused)."""
    connection.execute(
        text(
            "INSERT INTO audit_events (id, occurred_at, actor, action, fields, detail, "
            "leaf_hash) VALUES (:id, :at, 'raw@example.org', 'test.raw', '[]', '{}', :h)"
        ),
        {"id": position, "at": datetime.now(UTC).isoformat(sep=" "), "h": b"\x00" * 32},
    )


@BOTH_BACKENDS
def test_the_tree_head_moves_only_onto_appended_events(engine: Engine) -> None:
    migrate.upgrade(engine)
    with Session(engine) as session:
        for number in range(3):
            record_event(session, Actor("guards@example.org"), ACTION, detail={"n": number})
        session.commit()  # appends move the head on, one event at a time
    size, root = _head(engine)
    assert size >= 3

    # Rewriting the head at the same size, or moving it without an event, is refused.
    _refused(engine, "UPDATE audit_tree_state SET root = frontier, frontier = root")
    _refused(engine, "UPDATE audit_tree_state SET updated_at = updated_at")
    _refused(engine, "UPDATE audit_tree_state SET size = size + 1")
    _refused(engine, "UPDATE audit_tree_state SET size = size - 1")
    _refused(engine, "UPDATE audit_tree_state SET id = 2, size = size + 1")
    with engine.begin() as connection:
        _raw_event(connection, size + 1)
        _raw_event(connection, size + 3)
    _refused(engine, "UPDATE audit_tree_state SET size = size + 3")  # over the missing + 2
    _refused(engine, "UPDATE audit_tree_state SET size = size + 2")
    assert _head(engine) == (size, root)
    with engine.begin() as connection:  # one event that exists: the guard lets it through
        connection.execute(text("UPDATE audit_tree_state SET size = size + 1"))
    assert _head(engine)[0] == size + 1
    with engine.begin() as connection:  # a batch, every event of it recorded: one move
        _raw_event(connection, size + 2)
        connection.execute(text("UPDATE audit_tree_state SET size = size + 2"))
    assert _head(engine)[0] == size + 3

    migrate.downgrade(engine, BEFORE)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            functions = connection.execute(
                text("SELECT proname FROM pg_proc WHERE proname LIKE 'audit%'")
            ).all()
        assert functions == [], "the downgrade drops the trigger functions"
    else:
        with engine.connect() as connection:
            triggers = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).all()
        assert triggers == [], "the downgrade drops the triggers"


def test_the_backfill_computes_with_its_own_frozen_copy() -> None:
    """Importing the application's format would change what this old migration computes
    when the format changes; only incidents.db (column types of the DDL) may be imported."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(MIGRATION.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert {name for name in imported if name.split(".")[0] == "incidents"} == {"incidents.db"}


@BOTH_BACKENDS
def test_before_batches_the_head_moved_by_one_event_only(engine: Engine) -> None:
    """The revision before batched appends refuses a move by two recorded events; its
    successor allows it, and its downgrade refuses it again."""
    migrate.upgrade(engine, BEFORE_BATCHES)  # today's record_event needs today's schema
    size, _ = _head(engine)
    with engine.begin() as connection:
        _raw_event(connection, size + 1)
        _raw_event(connection, size + 2)
    _refused(engine, "UPDATE audit_tree_state SET size = size + 2")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_tree_state SET size = size + 2"))
    assert _head(engine)[0] == size + 2
    migrate.downgrade(engine, BEFORE_BATCHES)
    with engine.begin() as connection:
        _raw_event(connection, size + 3)
        _raw_event(connection, size + 4)
    _refused(engine, "UPDATE audit_tree_state SET size = size + 2")
