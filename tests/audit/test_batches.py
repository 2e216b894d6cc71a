"""record_events appends several events in one go: the same leaves, positions and root as
appending them one by one, in a fixed number of statements however many there are."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from incidents.audit import log, sequencer
from incidents.audit.actions import AuditAction
from incidents.audit.log import NewEvent, event_bytes, pending_events, record_event, record_events
from incidents.audit.merkle import leaf_hash
from incidents.audit.signing import Signer
from incidents.cli import cli
from incidents.context import Context
from incidents.models.audit import AuditEvent, AuditTreeState
from tests.audit.conftest import ACTOR, reference_root, settle, verify
from tests.factories import IncidentFactory, TeamFactory
from tests.helpers import count_statements, invoke

FIXED = datetime(2017, 4, 1, 12, 0, tzinfo=UTC)


def _new(count: int, target: object = None) -> list[NewEvent]:
    """Events that differ in everything an event holds, so that a mix-up shows."""
    actions = [AuditAction.SECRET_DECRYPT, AuditAction.RECORD_UPDATE, AuditAction.RECORD_CREATE]
    return [
        NewEvent(
            actions[n % 3],
            target if n % 2 else None,
            fields=[f"field_{n}", "a"],
            detail={"n": n, "név": "ünïcode"} if n % 4 else None,
            team_id=None,
        )
        for n in range(count)
    ]


def _head(session: Session) -> tuple[int, bytes, bytes]:
    state = session.get(AuditTreeState, 1)
    assert state is not None
    session.refresh(state)
    return state.size, state.root, state.frontier


def _leaves_stored(session: Session, count: int) -> list[AuditEvent]:
    """The last `count` leaves of the tree, oldest first."""
    session.expire_all()
    newest = select(AuditEvent).order_by(AuditEvent.id.desc())
    return list(reversed(session.scalars(newest.limit(count)).all()))


def _queued(session: Session) -> int:
    return sequencer.queued_count(session.connection())


def _leaves(session: Session, after: int) -> list[tuple[int, bytes, bytes]]:
    session.expire_all()
    rows = session.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id))
    return [(e.id, e.leaf_hash, event_bytes(e)) for e in rows]


@pytest.mark.parametrize("count", [1, 2, 7, 16, 33])
def test_a_batch_builds_the_tree_one_by_one_appends_build(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(log, "utcnow", lambda: FIXED)  # the same clock for both ways
    incident = IncidentFactory()
    settle(db_session)
    start, _, _ = _head(db_session)
    new = _new(count, incident)

    one_by_one = db_session.begin_nested()
    for item in new:
        record_event(db_session, ACTOR, item.action, item.target, item.fields, item.detail)
        settle(db_session)  # each its own integration, as one writer's commit after another
    sequential = (_head(db_session), _leaves(db_session, start))
    one_by_one.rollback()
    assert _head(db_session)[0] == start

    events = record_events(db_session, ACTOR, new)
    if db_session.get_bind().dialect.name == "sqlite":  # integrated at once
        assert [e.id for e in events] == list(range(start + 1, start + count + 1))
        assert [e.leaf_hash for e in events] == [leaf for _, leaf, _ in sequential[1]]
    else:  # queued: no position, no hash until integrated, however many there are
        assert [(e.id, e.leaf_hash) for e in events] == [(None, None)] * count
    settle(db_session)
    assert (_head(db_session), _leaves(db_session, start)) == sequential
    assert [position for position, _, _ in sequential[1]] == list(
        range(start + 1, start + count + 1)
    )
    assert _head(db_session)[1] == reference_root(db_session)


def test_a_batch_is_a_fixed_number_of_statements_however_many_events(
    app: Flask, db_session: Session
) -> None:
    """SQLite: the head read, one INSERT, the head moved. PostgreSQL: one INSERT of queued
    leaves, nothing of the head; their integration is as many statements for 1 as for 40."""
    settle(db_session)
    sqlite = db_session.get_bind().dialect.name == "sqlite"
    with count_statements(app) as one:
        record_events(db_session, ACTOR, _new(1))
    with count_statements(app) as one_integrated:
        settle(db_session)
    with count_statements(app) as forty:
        record_events(db_session, ACTOR, _new(40))
    with count_statements(app) as forty_integrated:
        settle(db_session)
    assert one.count == forty.count == (3 if sqlite else 1), f"{one!r}\n---\n{forty!r}"
    (insert,) = [sql for sql in forty.sql if sql.lstrip().upper().startswith("INSERT")]
    assert insert.count("VALUES") == 1 and insert.count("), (") == 39  # one multi-row INSERT
    if not sqlite:
        assert all("audit_tree_state" not in sql for sql in forty.sql), "the head is not taken"
        assert one_integrated.count == forty_integrated.count, (
            f"{one_integrated!r}\n---\n{forty_integrated!r}"
        )


def test_an_empty_batch_touches_nothing(app: Flask, db_session: Session) -> None:
    db_session.flush()
    before = _head(db_session)
    with count_statements(app) as statements:
        assert record_events(db_session, ACTOR, []) == []
    assert statements.count == 0, statements
    assert _head(db_session) == before


def test_the_events_keep_their_targets_teams_fields_and_details(db_session: Session) -> None:
    team = TeamFactory()
    incident = IncidentFactory(team_id=team.id)
    other_team = TeamFactory()
    events = record_events(
        db_session,
        ACTOR,
        [
            NewEvent(AuditAction.SECRET_DECRYPT, incident, fields=["place_detail", "narrative"]),
            NewEvent(AuditAction.RECORD_UPDATE, detail={"b": 2, "a": [1]}, team_id=other_team.id),
        ],
    )
    settle(db_session)
    first, second = _leaves_stored(db_session, len(events))
    assert first is not None and second is not None
    assert (first.action, first.target_table, first.target_id, first.target_ref) == (
        "secret.decrypt",
        "incidents",
        str(incident.id),
        incident.reference,
    )
    assert (first.team_id, first.fields, first.detail) == (
        team.id,
        ["narrative", "place_detail"],
        {},
    )
    assert (second.target_id, second.team_id, second.detail) == (
        None,
        other_team.id,
        {"a": [1], "b": 2},
    )
    assert first.actor == second.actor == ACTOR.label
    for stored in (first, second):
        assert stored.leaf_hash == leaf_hash(event_bytes(stored))


def test_pending_events_count_a_batch_and_a_rollback_settles_them(db_session: Session) -> None:
    before = pending_events(db_session)
    settle(db_session)
    size = _head(db_session)[0]
    savepoint = db_session.begin_nested()
    record_events(db_session, ACTOR, _new(5))
    record_event(db_session, ACTOR, AuditAction.RECORD_UPDATE)
    assert pending_events(db_session) == before + 6
    savepoint.rollback()
    settle(db_session)
    assert _head(db_session)[0] == size, "the rolled-back batch left no leaf"
    assert _queued(db_session) == 0, "nor a queued one"
    assert pending_events(db_session) == before + 6  # a savepoint settles nothing


def test_the_log_verifies_after_batches_mixed_with_single_events(
    app: Flask, db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    record_event(db_session, ACTOR, AuditAction.RECORD_UPDATE, detail={"n": 0})
    record_events(db_session, ACTOR, _new(9, IncidentFactory()))
    record_event(db_session, ACTOR, AuditAction.RECORD_UPDATE, detail={"n": 10})
    record_events(db_session, ACTOR, _new(4))
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    assert outcome.root == reference_root(db_session)
    result = invoke(app, cli, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def test_the_head_still_refuses_a_move_over_a_missing_event(db_session: Session) -> None:
    """The guard lets the head move by a whole batch, onto events that exist, only."""
    record_events(db_session, ACTOR, _new(2))
    size = _head(db_session)[0]
    for statement in (
        "UPDATE audit_tree_state SET size = size + 1",  # no event at size + 1
        "UPDATE audit_tree_state SET size = size - 2",
        "UPDATE audit_tree_state SET root = frontier, frontier = root",
    ):
        savepoint = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="only grows"):
            db_session.execute(text(statement))
        savepoint.rollback()
    assert _head(db_session)[0] == size
