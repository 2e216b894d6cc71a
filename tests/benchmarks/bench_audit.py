"""Benchmark of the audit log: appends (one and four writers), verification, append cost.

Not a test: a script that prints figures and ratios, each against a baseline measured in
the same run (README: "Benchmarks"), on a throw-away PostgreSQL database. Run it from the
repository root:

    .venv/bin/python -m tests.benchmarks.bench_audit [--quick]

Goals (issue 5): full verification >= 100,000 events/s on 1M events; append cost flat
from 10k to 1M events. `--quick` stops at 100k events. Goal of the queued appends: four
writers commit at least 60% of the events four writers' plain INSERTs commit (each
writer queues its event in its transaction, into a table as lean as the plain one, and
takes its turn at the head with SKIP LOCKED as it commits); the run then checks that
every committed event reached the tree.
`--appends` runs the appends only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, configure_mappers

from incidents import migrate
from incidents.audit import merkle
from incidents.audit.actions import AuditAction
from incidents.audit.canonical import canonical_bytes, normalise_json
from incidents.audit.log import Actor, record_event
from incidents.audit.signing import generate_signer
from incidents.audit.verify import stream_rows
from incidents.context import Context
from incidents.crypto.keys import StaticKeyProvider, generate_master_key
from incidents.extensions import make_engine
from incidents.permissions import Operator
from incidents.services import audit_log
from incidents.settings import Settings
from incidents.storage.store import DirectoryEvidenceStore

ADMIN_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ORIGIN = "bench.example/audit"
ACTOR = Actor("researcher@example.org", uuid.uuid4())
FIELDS = ["narrative", "place_detail", "title"]
WRITE_SECONDS = 3.0


def report(
    name: str, value: float, unit: str, baseline: float | None = None, note: str = ""
) -> None:
    ratio = f"  ({value / baseline:6.1%} of baseline)" if baseline else ""
    print(f"  {name:<52} {value:>14,.0f} {unit}{ratio}{'  ' + note if note else ''}")


def goal(text_: str, met: bool) -> None:
    print(f"  goal: {text_}: {'met' if met else 'NOT MET'}")


class Database:
    def __init__(self) -> None:
        self.name = f"incidents_bench_audit_{secrets.token_hex(4)}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        admin = make_url(ADMIN_URL)
        self.url = admin.set(drivername="postgresql+psycopg", database=self.name).render_as_string(
            hide_password=False
        )

    def drop(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# -- appends ------------------------------------------------------------------------------


def _append_for(url: str, seconds: float, plain: bool, start_at: float) -> tuple[int, float, float]:
    """Transactions of one event each for `seconds` from `start_at` (wall clock, so that
    every process starts together once imported): (committed, first start, last end)."""
    engine = make_engine(url)
    target = uuid.uuid4()

    def write(session: Session) -> None:
        if plain:  # the same row into a table without tree, lock or hash
            session.execute(
                text(
                    "INSERT INTO plain_events (occurred_at, actor, action, target_table, "
                    "target_id, fields, detail) VALUES (now(), :a, 'record.update', "
                    "'incidents', :t, CAST(:f AS json), CAST(:d AS json))"
                ),
                {"a": ACTOR.label, "t": str(target), "f": '["title"]', "d": "{}"},
            )
        else:
            record_event(session, ACTOR, AuditAction.RECORD_UPDATE, fields=["title"])

    # Warm up before the clock starts: the connection, the mappers (configured on the
    # first model object, a second or more on a busy machine), the compiled statements.
    configure_mappers()
    with Session(engine) as session:
        write(session)
        session.rollback()
    while time.time() < start_at:
        time.sleep(0.005)
    began = time.time()
    done, deadline = 0, time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            with Session(engine) as session:
                write(session)
                session.commit()
                done += 1
    finally:
        engine.dispose()
    return done, began, time.time()


def _writers(url: str, count: int, plain: bool) -> float:
    """Events per second committed by `count` processes writing at once."""
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 8.0  # after every process has imported and warmed up
    with context.Pool(count) as pool:
        results = pool.starmap(_append_for, [(url, WRITE_SECONDS, plain, start_at)] * count)
    elapsed = max(end for _, _, end in results) - min(began for _, began, _ in results)
    return sum(done for done, _, _ in results) / elapsed


def bench_appends(database: Database, engine: Engine) -> None:
    print("Appends on PostgreSQL (one event per transaction, committed)")
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE plain_events (id bigserial PRIMARY KEY, occurred_at timestamptz, "
                "actor varchar(254), action varchar(64), target_table varchar(63), "
                "target_id varchar(64), fields json, detail json)"
            )
        )
    for writers in (1, 4):
        plain = _writers(database.url, writers, plain=True)
        audited = _writers(database.url, writers, plain=False)
        report(f"plain INSERT, {writers} writer(s) (baseline)", plain, "events/s")
        report(f"record_event, {writers} writer(s)", audited, "events/s", plain)
        if writers == 4:
            goal("4 writers >= 60% of 4 writers' plain INSERTs", audited >= 0.6 * plain)
    with engine.connect() as connection:
        queued = connection.scalar(text("SELECT count(*) FROM audit_queue"))
        size, events = connection.execute(
            text("SELECT (SELECT size FROM audit_tree_state), count(*) FROM audit_events")
        ).one()
    print(f"  after the writers: {size:,} events in the tree, {queued} left queued")
    assert queued == 0 and size == events, "every committed leaf reaches the tree"


# -- bulk load, append cost, verification ---------------------------------------------


HEAD_GUARD = "audit_tree_state_only_grows"  # the migration's trigger on the tree head


def bulk_load(engine: Engine, upto: int) -> None:
    """Grow the log to `upto` events quickly: rows built as record_event would, then COPY."""
    with engine.begin() as connection:
        size, packed = connection.execute(
            text("SELECT size, frontier FROM audit_tree_state WHERE id = 1")
        ).one()
        frontier = merkle.unpack_frontier(bytes(packed), size)
        raw: Any = connection.connection.driver_connection
        started = datetime(2017, 4, 1, tzinfo=UTC)
        fields = normalise_json(FIELDS)
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY audit_events (id, occurred_at, actor_id, actor, action, target_table, "
                "target_id, target_ref, team_id, fields, detail, leaf_hash) FROM STDIN"
            ) as copy,
        ):
            for position in range(size + 1, upto + 1):
                occurred = started + timedelta(seconds=position)
                target, team = str(uuid.uuid4()), uuid.uuid4()
                data = canonical_bytes(
                    position=position,
                    occurred_at=occurred,
                    actor_id=ACTOR.user_id,
                    actor=ACTOR.label,
                    action=AuditAction.SECRET_DECRYPT.value,
                    target_table="incidents",
                    target_id=target,
                    target_ref="INC-2017-0001",
                    team_id=team,
                    fields=fields,
                    detail={"n": position},
                )
                leaf = merkle.leaf_hash(data)
                merkle.frontier_append(frontier, position - 1, leaf)
                copy.write_row(
                    (
                        position,
                        occurred,
                        ACTOR.user_id,
                        ACTOR.label,
                        AuditAction.SECRET_DECRYPT.value,
                        "incidents",
                        target,
                        "INC-2017-0001",
                        team,
                        '["narrative", "place_detail", "title"]',
                        f'{{"n": {position}}}',
                        leaf,
                    )
                )
        # The guard lets the head move one event at a time; a bulk load moves it by many,
        # so the benchmark (never the application) switches it off around this one UPDATE.
        connection.execute(text(f"ALTER TABLE audit_tree_state DISABLE TRIGGER {HEAD_GUARD}"))
        connection.execute(
            text("UPDATE audit_tree_state SET size = :s, root = :r, frontier = :f WHERE id = 1"),
            {
                "s": upto,
                "r": merkle.frontier_root(frontier),
                "f": merkle.pack_frontier(frontier),
            },
        )
        connection.execute(text(f"ALTER TABLE audit_tree_state ENABLE TRIGGER {HEAD_GUARD}"))
    with engine.begin() as connection:
        connection.execute(text("ANALYZE audit_events"))


def append_cost(engine: Engine, count: int = 2000) -> tuple[float, float]:
    """Mean seconds per append: inside one transaction (lock, hash, insert, head update:
    what grows with the log, if anything), and as single-event committed transactions
    (dominated by the commit's flush to disk)."""
    with Session(engine) as session:
        record_event(session, ACTOR, AuditAction.RECORD_UPDATE)  # the lock is taken once
        started = time.perf_counter()
        for _ in range(count):
            record_event(session, ACTOR, AuditAction.RECORD_UPDATE, fields=["title"])
        in_transaction = (time.perf_counter() - started) / count
        session.rollback()
    started = time.perf_counter()
    for _ in range(count // 4):
        with Session(engine) as session:
            record_event(session, ACTOR, AuditAction.RECORD_UPDATE, fields=["title"])
            session.commit()
    return in_transaction, (time.perf_counter() - started) / (count // 4)


def read_rate(engine: Engine) -> tuple[int, float]:
    """The same rows streamed and discarded: the floor verification cannot beat."""
    with engine.connect() as connection:
        started = time.perf_counter()
        count = sum(1 for _ in stream_rows(connection))
        return count, count / (time.perf_counter() - started)


def operator_context(session: Session, store_root: Path) -> Context:
    """The operator's context for verifying the log ORIGIN, without an application."""
    key = generate_master_key()
    keys = StaticKeyProvider([key], key.key_id, "the benchmark")
    store = DirectoryEvidenceStore(store_root)
    return Context.build(
        session, keys, store, Settings(audit_log_origin=ORIGIN), Operator("benchmark")
    )


def verify_rate(engine: Engine) -> tuple[int, float, bool]:
    signer = generate_signer(ORIGIN)
    with Session(engine) as session, tempfile.TemporaryDirectory() as folder:
        ctx = operator_context(session, Path(folder))
        started = time.perf_counter()
        outcome = audit_log.verify_log(ctx, signer.verifier)
        elapsed = time.perf_counter() - started
    return outcome.size, outcome.size / elapsed, outcome.ok


def timed(label: str, action: Callable[[], None]) -> None:
    started = time.perf_counter()
    action()
    print(f"  ({label} in {time.perf_counter() - started:,.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 100k events")
    parser.add_argument("--appends", action="store_true", help="the appends only")
    arguments = parser.parse_args()
    large = 100_000 if arguments.quick else 1_000_000
    database = Database()
    engine = make_engine(database.url)
    try:
        migrate.upgrade(engine)
        bench_appends(database, engine)
        if arguments.appends:
            return

        print("Append cost as the log grows (single writer, one event per transaction)")
        timed("grown to 10,000 events", lambda: bulk_load(engine, 10_000))
        small, small_committed = append_cost(engine)
        report("record_event at ~10k events", 1 / small, "events/s", note=f"{small * 1e3:.3f} ms")
        report(
            "  committed alone",
            1 / small_committed,
            "events/s",
            note=f"{small_committed * 1e3:.2f} ms",
        )
        timed(f"grown to {large:,} events", lambda: bulk_load(engine, large))
        big, big_committed = append_cost(engine)
        report(
            f"record_event at ~{large // 1000}k events",
            1 / big,
            "events/s",
            1 / small,
            note=f"{big * 1e3:.3f} ms",
        )
        report(
            "  committed alone",
            1 / big_committed,
            "events/s",
            1 / small_committed,
            note=f"{big_committed * 1e3:.2f} ms",
        )
        goal(f"append cost flat from 10k to {large // 1000}k (within 25%)", big <= small * 1.25)

        print(f"Full verification of {large:,} events")
        count, floor = read_rate(engine)
        report("stream the rows as text (baseline: reading only)", floor, "events/s")
        size, rate_, ok = verify_rate(engine)
        assert ok and size == count, "the benchmark log does not verify"
        report("verify: canonical bytes, leaf hashes, Merkle tree", rate_, "events/s", floor)
        goal("verification >= 100,000 events/s", rate_ >= 100_000)
    finally:
        engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
