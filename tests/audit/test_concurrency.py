"""Several writers at once on PostgreSQL keep one consistent tree."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.audit.log import Actor, record_event
from incidents.audit.signing import Signer
from incidents.crypto.keys import MasterKey
from incidents.extensions import make_engine
from incidents.models.audit import AuditEvent
from tests.audit import rfc6962
from tests.audit.conftest import ACTION, all_event_bytes, operator_context, verify
from tests.conftest import PostgresDatabase, skip_without_postgres

WRITERS = 4
TRANSACTIONS = 30
EVENTS_PER_TRANSACTION = 3


@pytest.fixture
def engine() -> Iterator[Engine]:
    skip_without_postgres()
    database = PostgresDatabase("audit_concurrency")
    made = make_engine(database.url)
    try:
        migrate.upgrade(made)
        yield made
    finally:
        made.dispose()
        database.drop()


def _writer(engine: Engine, number: int, errors: list[BaseException]) -> None:
    try:
        for transaction in range(TRANSACTIONS):
            with Session(engine) as session:
                for event in range(EVENTS_PER_TRANSACTION):
                    record_event(
                        session,
                        Actor(f"writer-{number}"),
                        ACTION,
                        detail={"transaction": transaction, "event": event},
                    )
                if transaction % 5 == 4:
                    session.rollback()  # some work is abandoned: it must leave no trace
                else:
                    session.commit()
    except BaseException as exc:  # reported to the test thread
        errors.append(exc)


@pytest.mark.postgres
def test_concurrent_writers_keep_one_valid_tree(
    engine: Engine, signer: Signer, master_key: MasterKey, tmp_path: Path
) -> None:
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_writer, args=(engine, n, errors)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    committed = WRITERS * (TRANSACTIONS - TRANSACTIONS // 5) * EVENTS_PER_TRANSACTION
    with Session(engine) as session:
        positions = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        assert list(positions) == list(range(1, committed + 1)), "dense positions, no gaps"
        writers = session.scalar(select(func.count(func.distinct(AuditEvent.actor))))
        assert writers == WRITERS
        outcome = verify(operator_context(session, master_key, tmp_path), signer)
        assert outcome.ok, outcome.problem
        assert outcome.size == committed
        assert outcome.root == rfc6962.mth(all_event_bytes(session))
