"""record_event keeps one Merkle tree over the events, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from incidents.audit import merkle
from incidents.audit.actions import AuditAction
from incidents.audit.log import Actor, event_bytes, record_event
from incidents.audit.signing import Signer
from incidents.context import Context
from incidents.models.audit import AuditEvent, AuditTreeState
from incidents.models.vocabularies import Role
from incidents.services import audit_log
from incidents.services import incidents as incident_service
from tests.audit import rfc6962
from tests.audit.conftest import (
    ACTION,
    all_event_bytes,
    append,
    reference_root,
    settle,
    sql,
    verify,
)
from tests.factories import IncidentFactory, TeamFactory, UserFactory
from tests.helpers import count_events


def _head(session: Session) -> tuple[int, bytes]:
    state = session.get(AuditTreeState, 1)
    assert state is not None
    session.refresh(state)
    return state.size, state.root


def test_each_event_is_the_next_leaf_and_the_head_is_the_rfc_root(db_session: Session) -> None:
    start, _ = _head(db_session)
    positions = append(db_session, 12)
    assert positions == list(range(start + 1, start + 13)), "positions are dense, from the head"
    size, root = _head(db_session)
    assert size == start + 12
    assert root == reference_root(db_session)
    for event in db_session.scalars(select(AuditEvent)):
        assert event.leaf_hash == merkle.leaf_hash(event_bytes(event))


def test_the_stored_head_matches_the_reference_at_every_size(db_session: Session) -> None:
    start, _ = _head(db_session)
    data = all_event_bytes(db_session)
    for _ in range(9):
        record_event(db_session, Actor("x"), ACTION, detail={"k": [3, {"b": 1}]})
        settle(db_session)
        data = all_event_bytes(db_session)
        assert _head(db_session)[1] == rfc6962.mth(data)
    assert len(data) == start + 9


def test_a_rolled_back_change_leaves_no_event_and_no_tree_change(db_session: Session) -> None:
    append(db_session, 3)
    before = _head(db_session)
    count = db_session.scalar(select(func.count()).select_from(AuditEvent))
    savepoint = db_session.begin_nested()
    append(db_session, 5)
    assert _head(db_session)[0] == before[0] + 5
    savepoint.rollback()
    assert _head(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == count
    append(db_session, 1)  # the next event takes the position the rolled-back one had
    assert _head(db_session)[0] == before[0] + 1


def test_detail_is_stored_canonically_and_the_log_verifies(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    event = record_event(
        db_session,
        Actor("ä@example.org"),
        ACTION,
        fields=["z", "a"],
        detail={"z": 1, "a": ("tuple", "becomes", "list"), "nested": {"b": 2, "a": 1}},
    )
    db_session.flush()
    assert event.fields == ["a", "z"]
    assert list(event.detail) == ["a", "nested", "z"]
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    assert outcome.root == reference_root(db_session)


def test_json_stored_in_another_form_still_verifies(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    """A row whose JSON text is not the canonical form is parsed rather than misjudged."""
    (position,) = append(db_session, 1)
    from tests.audit.conftest import drop_guards

    drop_guards(db_session)
    sql(
        db_session,
        "UPDATE audit_events SET detail = :d WHERE id = :id",
        d='{"név":"\u00fcn\u00efcode",   "n":0}',
        id=position,
    )
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem


def test_the_guards_refuse_update_and_delete_and_let_the_head_only_grow(
    db_session: Session,
) -> None:
    (position,) = append(db_session, 1)
    refused: list[tuple[str, dict[str, Any]]] = [
        ("UPDATE audit_events SET actor = 'someone else' WHERE id = :id", {"id": position}),
        ("DELETE FROM audit_events WHERE id = :id", {"id": position}),
        ("UPDATE audit_tree_state SET size = size - 1 WHERE id = 1", {}),
        ("UPDATE audit_tree_state SET size = size + 1 WHERE id = 1", {}),  # no such event
        ("UPDATE audit_tree_state SET root = :r WHERE id = 1", {"r": b"\x00" * 32}),
        ("DELETE FROM audit_tree_state", {}),
    ]
    for statement, params in refused:
        savepoint = db_session.begin_nested()
        with pytest.raises(DBAPIError, match=r"append-only|only grows|cannot be deleted"):
            sql(db_session, statement, **params)
        savepoint.rollback()
    append(db_session, 1)  # appends still move the head on


def test_one_secret_view_adds_exactly_one_decryption_event_and_it_verifies(
    db_session: Session, log_ctx: Context, context_for: Callable[..., Context], signer: Signer
) -> None:
    team = TeamFactory()
    user = UserFactory(role=Role.RESEARCHER, teams=[team])
    incident = IncidentFactory(team_id=team.id, secrets={"narrative": "CANARY-log-5T1"})

    def decryptions() -> int:
        return count_events(db_session, AuditAction.SECRET_DECRYPT)

    before = decryptions()
    view = incident_service.view_incident(context_for(user), incident.reference)
    assert view.narrative == "CANARY-log-5T1"
    assert decryptions() == before + 1
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    stored = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert "CANARY" not in event_bytes(stored).decode()


def test_log_size_follows_the_head(db_session: Session, ctx: Context) -> None:
    before = audit_log.log_size(ctx)
    append(db_session, 2)
    assert audit_log.log_size(ctx) == before + 2
