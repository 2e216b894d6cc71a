"""Helpers for audit-log tests: appending events, and tampering as an attacker would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from incidents.audit import merkle
from incidents.audit.log import Actor, event_bytes, record_event
from incidents.audit.signing import Signer, generate_signer
from incidents.models.audit import AuditEvent
from incidents.services import audit as audit_service
from incidents.services.audit import VerifyOutcome
from tests.audit import rfc6962

ORIGIN = "audit.example.org/tests"
ACTOR = Actor("auditor-tests@example.org")

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


def append(session: Session, count: int, action: str = "test.event") -> list[int]:
    """Record `count` events; their positions."""
    positions = []
    for number in range(count):
        event = record_event(
            session, ACTOR, action, fields=["b", "a"], detail={"n": number, "név": "ünïcode"}
        )
        positions.append(event.id)
    session.flush()
    return positions


def verify(session: Session, signer: Signer, held: str | None = None) -> VerifyOutcome:
    session.flush()
    return audit_service.verify_log(session, signer.verifier, ORIGIN, held)


def drop_guards(session: Session) -> None:
    """What an attacker does first; the test's rollback puts the triggers back."""
    for statement in GUARDS[session.get_bind().dialect.name]:
        session.execute(text(statement))


def sql(session: Session, statement: str, **params: Any) -> None:
    session.execute(text(statement), params)
    session.expire_all()


def all_event_bytes(session: Session) -> list[bytes]:
    session.expire_all()
    return [event_bytes(e) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


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
