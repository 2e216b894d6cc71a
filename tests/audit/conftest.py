"""Helpers for audit-log tests: appending events, and tampering as an attacker would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from incidents.audit import merkle, sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.log import Actor, record_event, row_bytes
from incidents.audit.rows import COLUMNS
from incidents.audit.signing import Signer, generate_signer
from incidents.context import Context
from incidents.crypto.keys import MasterKey, StaticKeyProvider
from incidents.models.audit import AuditEvent, AuditTreeState
from incidents.services import audit_log
from incidents.services.audit_log import VerifyOutcome
from incidents.settings import Settings
from incidents.storage.store import DirectoryEvidenceStore
from tests.audit import rfc6962
from tests.helpers import TEST_OPERATOR

ORIGIN = "audit.example.org/tests"
ACTOR = Actor("auditor-tests@example.org")
# What the events appended by these tests record; any action will do.
ACTION = AuditAction.RECORD_UPDATE

# The guards an attacker with database access drops first (see the migration).
GUARDS = {
    "postgresql": [
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP TRIGGER audit_events_refuse_truncate ON audit_events",
        "DROP TRIGGER audit_tree_state_only_grows ON audit_tree_state",
    ],
    "sqlite": [
        "DROP TRIGGER audit_events_refuse_update",
        "DROP TRIGGER audit_events_refuse_delete",
        "DROP TRIGGER audit_tree_state_only_grows",
        "DROP TRIGGER audit_tree_state_refuse_delete",
    ],
}


@pytest.fixture(scope="session")
def signer() -> Signer:
    return generate_signer(ORIGIN)


@pytest.fixture
def log_ctx(context_for: Callable[..., Context]) -> Context:
    """The test operator's context on the test's session, for the log named ORIGIN."""
    return context_for(TEST_OPERATOR, audit_log_origin=ORIGIN)


def operator_context(
    session: Session, key: MasterKey, store_root: Path, origin: str = ORIGIN
) -> Context:
    """The test operator's context on a session of a database of the test's own, without
    the application: the log named `origin`, `key` as the only master key."""
    keys = StaticKeyProvider([key], key.key_id, "the tests")
    settings = Settings(audit_log_origin=origin)
    return Context.build(session, keys, DirectoryEvidenceStore(store_root), settings, TEST_OPERATOR)


def tree_size(session: Session) -> int:
    return int(session.scalar(select(AuditTreeState.size).where(AuditTreeState.id == 1)) or 0)


def settle(session: Session) -> None:
    """Integrate what the test queued (PostgreSQL queues; SQLite has integrated already),
    as a writer's commit would: on the test's connection, in savepoints."""
    session.flush()
    sequencer.integrate_queued(session)
    session.expire_all()


def append(session: Session, count: int, action: AuditAction = ACTION) -> list[int]:
    """Record `count` events and integrate them; their positions."""
    settle(session)  # what was queued before takes the positions before these
    start = tree_size(session)
    for number in range(count):
        record_event(
            session, ACTOR, action, fields=["b", "a"], detail={"n": number, "név": "ünïcode"}
        )
    settle(session)
    assert tree_size(session) == start + count, "only the test's own events were queued"
    return list(range(start + 1, start + count + 1))


def verify(ctx: Context, signer: Signer, held: str | None = None) -> VerifyOutcome:
    ctx.session.flush()
    return audit_log.verify_log(ctx, signer.verifier, held)


def drop_guards(session: Session) -> None:
    """What an attacker does first; the test's rollback puts the triggers back."""
    for statement in GUARDS[session.get_bind().dialect.name]:
        session.execute(text(statement))


def sql(session: Session, statement: str, **params: Any) -> None:
    session.execute(text(statement), params)
    session.expire_all()


def all_event_bytes(session: Session) -> list[bytes]:
    """The canonical bytes of every leaf of the tree (queued events are not leaves yet)."""
    session.expire_all()
    columns = [AuditEvent.__table__.c[name] for name in COLUMNS]
    leaves = select(*columns).order_by(AuditEvent.id)
    return [row_bytes(row) for row in session.execute(leaves).mappings()]


def reference_root(session: Session) -> bytes:
    """MTH over every event's canonical bytes, by the independent reference."""
    return rfc6962.mth(all_event_bytes(session))


def rehash_everything(session: Session) -> None:
    """A thorough attacker: recompute every leaf hash and the tree head from the rows."""
    data = all_event_bytes(session)
    frontier: list[bytes] = []
    for position, item in enumerate(data, start=1):
        leaf = merkle.leaf_hash(item)
        sql(session, "UPDATE audit_events SET leaf_hash = :h WHERE id = :id", h=leaf, id=position)
        merkle.frontier_append(frontier, position - 1, leaf)
    sql(
        session,
        "UPDATE audit_tree_state SET size = :s, root = :r, frontier = :f WHERE id = 1",
        s=len(data),
        r=merkle.frontier_root(frontier),
        f=merkle.pack_frontier(frontier),
    )
