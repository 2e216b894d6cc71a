"""Queued audit events: integrated once, in queue order, by whoever takes the tree head.

On both backends a queued row (as PostgreSQL writes them, or as a restore brings them)
moves into the log once, as a leaf. On PostgreSQL the queue's guard lets a row go only
into the log, and, with real commits on a database of the test's own: an event
committed while another transaction holds the head is integrated by its writer once
the head is free, or stays queued if it is not, verification reports it, and the next
writer integrates it before its own; past the queue's bound a writer waits for the head.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.audit import sequencer
from incidents.audit.canonical import normalise_json
from incidents.audit.log import Actor, record_event
from incidents.audit.rows import COLUMNS, leaf_template
from incidents.audit.signing import Signer
from incidents.context import Context
from incidents.crypto.keys import MasterKey
from incidents.extensions import make_engine
from incidents.models.audit import AuditEvent, AuditTreeState, QueuedAuditEvent
from incidents.services.backup.manifest import AuditTally
from tests.audit import rfc6962
from tests.audit.conftest import (
    ACTION,
    all_event_bytes,
    operator_context,
    reference_root,
    settle,
    sql,
    tree_size,
    verify,
)
from tests.conftest import PostgresDatabase, skip_without_postgres


def _queue_by_hand(session: Session, number: int, n: int) -> None:
    """A queued row as record_events writes one on PostgreSQL (or a restore brings back)."""
    event = AuditEvent(
        occurred_at=datetime(2017, 4, 1, 12, 0, n, tzinfo=UTC),
        actor="queued@example.org",
        action=ACTION.value,
        fields=normalise_json(["title"]),
        detail=normalise_json({"n": n, "név": "ünïcode", "id": 7}),  # an "id" inside, too
    )
    session.execute(
        QueuedAuditEvent.__table__.insert().values(
            id=number,
            occurred_at=event.occurred_at,
            actor=event.actor,
            action=event.action,
            fields=event.fields,
            detail=event.detail,
            leaf_template=leaf_template(event),
        )
    )


def _refused(session: Session, statement: str, **params: object) -> None:
    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match=r"append-only|only into the log"):
        sql(session, statement, **params)
    savepoint.rollback()


def test_a_queued_row_moves_into_the_log_once_as_a_leaf(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    settle(db_session)
    start = tree_size(db_session)
    _queue_by_hand(db_session, 900_001, 1)
    if db_session.get_bind().dialect.name == "postgresql":  # the queue's guard
        for statement in (
            "UPDATE audit_queue SET actor = 'someone else' WHERE id = :id",
            "DELETE FROM audit_queue WHERE id = :id",  # not in the log
            "TRUNCATE audit_queue",
        ):
            _refused(db_session, statement, id=900_001)

    integration = sequencer.integrate_queued(db_session)
    assert (integration.integrated, integration.queued) == (1, 0)
    db_session.expire_all()
    leaf = db_session.get(AuditEvent, start + 1)
    assert leaf is not None and leaf.detail["n"] == 1 and leaf.actor == "queued@example.org"
    assert db_session.get(QueuedAuditEvent, 900_001) is None
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    assert (outcome.size, outcome.queued) == (start + 1, 0)
    assert outcome.root == reference_root(db_session) == rfc6962.mth(all_event_bytes(db_session))
    for statement in (
        "UPDATE audit_events SET actor = 'someone else' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ):
        _refused(db_session, statement, id=start + 1)


def test_queued_events_take_their_positions_in_queue_order(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    settle(db_session)
    start = tree_size(db_session)
    for number, n in ((900_030, 3), (900_010, 1), (900_020, 2)):  # written out of order
        _queue_by_hand(db_session, number, n)
    settle(db_session)
    stored = db_session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
    assert [(e.id, e.detail["n"]) for e in stored] == [(start + n, n) for n in (1, 2, 3)]
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem


def test_a_restore_integrates_the_queued_rows_of_a_snapshot(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    """A snapshot may hold queued rows: the archive's checkpoint covers the tree (the rows
    of audit_events), and the restore (in its one transaction) moves the queued rows in."""
    settle(db_session)
    _queue_by_hand(db_session, 900_040, 4)
    tally = AuditTally()
    columns = [AuditEvent.__table__.c[name] for name in COLUMNS]
    for row in db_session.execute(select(*columns).order_by(AuditEvent.id)).mappings():
        tally.add(dict(row))
    assert tally.size == tree_size(db_session)
    assert sequencer.integrate_restored(db_session.connection()) == 1
    assert sequencer.integrate_restored(db_session.connection()) == 0
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    assert outcome.size == tally.size + 1


# -- PostgreSQL, committed for real -------------------------------------------------------


@pytest.fixture
def engine() -> Iterator[Engine]:
    skip_without_postgres()
    database = PostgresDatabase("audit_sequencer")
    made = make_engine(database.url)
    # A writer whose turn was skipped waits this long after its commit for the head: the
    # tests hold the head for longer, on purpose.
    sequencer.set_bounds(sequencer.QueueBounds(handover=timedelta(seconds=0.2)))
    try:
        migrate.upgrade(made)
        yield made
    finally:
        sequencer.set_bounds(sequencer.QueueBounds())
        made.dispose()
        database.drop()


def _write(engine: Engine, n: int, commit: bool = True) -> None:
    with Session(engine) as session:
        record_event(session, Actor(f"writer-{n}"), ACTION, detail={"n": n})
        if commit:
            session.commit()


def _state(engine: Engine) -> tuple[int, int, list[int]]:
    """(tree size, queued events, the `n` of each leaf in position order)."""
    with engine.connect() as connection:
        size = connection.scalar(select(AuditTreeState.size))
        queued = sequencer.queued_count(connection)
        details = connection.scalars(select(AuditEvent.detail).order_by(AuditEvent.id)).all()
    return int(size or 0), queued, [d["n"] for d in details]


@contextmanager
def _head_held(engine: Engine) -> Iterator[None]:
    """Another transaction holds the tree head (an integration under way, say)."""
    with engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT size FROM audit_tree_state WHERE id = 1 FOR UPDATE"))
        yield


@pytest.mark.postgres
def test_a_writer_whose_turn_was_skipped_integrates_its_event_once_the_head_is_free(
    engine: Engine,
) -> None:
    released = threading.Event()

    def hold_briefly() -> None:
        with _head_held(engine):
            released.wait(timeout=0.1)

    with _head_held(engine):
        _write(engine, 1)  # the head stays taken past the handover: left queued
    assert _state(engine) == (0, 1, [])
    holder = threading.Thread(target=hold_briefly)
    holder.start()
    time.sleep(0.02)  # the holder has the head as the writer commits
    _write(engine, 2)  # skipped as it commits; after the commit it waits for the head
    holder.join()
    assert _state(engine) == (2, 0, [1, 2]), "its own event, and the older one first"


@pytest.mark.postgres
def test_a_leaf_committed_while_the_head_is_held_waits_for_the_next_writer(
    engine: Engine, signer: Signer, master_key: MasterKey, tmp_path: Path
) -> None:
    _write(engine, 1)
    assert _state(engine) == (1, 0, [1]), "a writer alone integrates its leaf as it commits"
    with _head_held(engine):
        _write(engine, 2)  # queued and committed; the head stays taken past the handover
        _write(engine, 3, commit=False)  # rolled back: it never reaches the queue
        assert _state(engine) == (1, 1, [1])
        with Session(engine) as session:
            outcome = verify(operator_context(session, master_key, tmp_path), signer)
        assert outcome.ok, outcome.problem
        assert (outcome.size, outcome.queued) == (1, 1)
        assert "1 events queued, not yet in the tree" in outcome.summary()
    _write(engine, 4)  # the next writer takes the older leaf first, then its own
    assert _state(engine) == (3, 0, [1, 2, 4])
    with Session(engine) as session:
        outcome = verify(operator_context(session, master_key, tmp_path), signer)
        assert outcome.ok, outcome.problem
        assert outcome.root == rfc6962.mth(all_event_bytes(session))


@pytest.mark.postgres
def test_verification_integrates_what_is_queued_first(
    engine: Engine, signer: Signer, master_key: MasterKey, tmp_path: Path
) -> None:
    with _head_held(engine):
        _write(engine, 1)
        _write(engine, 2)
    assert _state(engine) == (0, 2, [])  # say its writers were killed after their commits
    with Session(engine) as session:
        outcome = verify(operator_context(session, master_key, tmp_path), signer)
    assert outcome.ok, outcome.problem
    assert (outcome.size, outcome.queued) == (2, 0)
    assert _state(engine) == (2, 0, [1, 2])


@pytest.mark.postgres
def test_past_the_bound_a_writer_waits_for_the_head(engine: Engine) -> None:
    sequencer.set_bounds(
        sequencer.QueueBounds(
            max_leaves=1, max_age=timedelta(hours=1), handover=timedelta(seconds=0.2)
        )
    )
    try:
        with _head_held(engine):
            _write(engine, 1)  # one queued: within the bound, the writer went on
            writer = threading.Thread(target=_write, args=(engine, 2))
            writer.start()  # two queued: past it, this one waits for the head
            time.sleep(0.5)
            assert writer.is_alive(), "the writer past the bound waits for the head"
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert _state(engine) == (2, 0, [1, 2])
    finally:
        sequencer.set_bounds(sequencer.QueueBounds())


@pytest.mark.postgres
def test_a_savepoint_released_is_not_a_commit_the_head_waits_for_the_transaction(
    engine: Engine,
) -> None:
    # An import writes each row in a savepoint of one transaction: were every release a
    # turn at the head, each turn would walk the queue rows the transaction had already
    # moved (still there for it until it commits), and the import would slow as it grew.
    with Session(engine) as session:
        for n in range(1, 4):
            with session.begin_nested():
                record_event(session, Actor(f"row-{n}"), ACTION, detail={"n": n})
        queued_in_transaction = sequencer.queued_count(session.connection())
        head_in_transaction = session.scalar(select(AuditTreeState.size))
        session.commit()
    assert (queued_in_transaction, head_in_transaction) == (3, 0)
    assert _state(engine) == (3, 0, [1, 2, 3]), "the commit integrates them, in order"
