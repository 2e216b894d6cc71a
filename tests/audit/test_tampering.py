"""Every kind of tampering makes verification fail (security check 26).

Each test first drops the triggers, as an attacker with database access would, then
edits, deletes, inserts, reorders, truncates or rewrites — naively (leaving the stored
hashes) or thoroughly (recomputing every hash and the tree head). The test's rollback
puts everything back.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy.orm import Session

from incidents.audit.signing import Signer, generate_signer, sign_checkpoint
from incidents.context import Context
from incidents.errors import AuditLogBroken, ValidationError
from incidents.repositories import audit as audit_queries
from incidents.services import audit_log
from tests.audit import rfc6962
from tests.audit.conftest import (
    ORIGIN,
    all_event_bytes,
    append,
    drop_guards,
    rehash_everything,
    settle,
    sql,
    verify,
)


@pytest.fixture
def log(db_session: Session, log_ctx: Context, signer: Signer) -> list[int]:
    """Ten events, verified, with the guards dropped."""
    positions = append(db_session, 10)
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    drop_guards(db_session)
    return positions


def _held(ctx: Context, signer: Signer) -> str:
    """A checkpoint of the log as it is now, as an auditor would keep it."""
    outcome = verify(ctx, signer)
    assert outcome.ok, outcome.problem
    return sign_checkpoint(signer, ORIGIN, outcome.size, outcome.root)


def _fails(ctx: Context, signer: Signer, *words: str, held: str | None = None) -> str:
    outcome = verify(ctx, signer, held)
    assert not outcome.ok, "tampering went unnoticed"
    problem = outcome.problem or ""
    for word in words:
        assert word in problem, problem
    return problem


def test_an_edited_event_is_named(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=log[4])
    outcome = verify(log_ctx, signer)
    assert outcome.verification.bad_event == log[4]
    assert f"event {log[4]} does not match" in (outcome.problem or "")


@pytest.mark.parametrize(
    "change",
    [
        "action = 'record.read'",
        "fields = '[\"a\"]'",
        "occurred_at = occurred_at",  # same instant, re-written: no change, see below
        "target_ref = 'INC-2017-9999'",
    ],
)
def test_every_column_is_covered(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int], change: str
) -> None:
    sql(db_session, f"UPDATE audit_events SET {change} WHERE id = :id", id=log[2])
    outcome = verify(log_ctx, signer)
    if change.startswith("occurred_at"):
        assert outcome.ok, "re-writing the same value is no change"
    else:
        assert outcome.verification.bad_event == log[2]


def test_an_edit_with_recomputed_hashes_fails_against_the_recorded_head(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    from incidents.audit import merkle
    from tests.audit.conftest import all_event_bytes

    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=log[4])
    data = all_event_bytes(db_session)
    sql(
        db_session,
        "UPDATE audit_events SET leaf_hash = :h WHERE id = :id",
        h=merkle.leaf_hash(data[log[4] - 1]),
        id=log[4],
    )
    _fails(log_ctx, signer, "history rewritten")


def test_a_deleted_event_is_named(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    sql(db_session, "DELETE FROM audit_events WHERE id = :id", id=log[3])
    outcome = verify(log_ctx, signer)
    assert outcome.verification.bad_event == log[3]
    assert f"event {log[3]} is missing" in (outcome.problem or "")


def test_an_event_inserted_in_the_middle_is_named(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    for position in reversed(log[5:]):  # make room, one row at a time
        sql(db_session, "UPDATE audit_events SET id = id + 1 WHERE id = :id", id=position)
    sql(
        db_session,
        "INSERT INTO audit_events (id, occurred_at, actor, action, fields, detail, leaf_hash) "
        "SELECT :new, occurred_at, 'forger', action, fields, detail, leaf_hash "
        "FROM audit_events WHERE id = :old",
        new=log[5],
        old=log[4],
    )
    outcome = verify(log_ctx, signer)
    assert outcome.verification.bad_event == log[5]


def test_an_event_appended_behind_the_applications_back_is_named(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    sql(
        db_session,
        "INSERT INTO audit_events (id, occurred_at, actor, action, fields, detail, leaf_hash) "
        "SELECT :new, occurred_at, actor, action, fields, detail, leaf_hash "
        "FROM audit_events WHERE id = :old",
        new=log[-1] + 1,
        old=log[-1],
    )
    _fails(log_ctx, signer, f"event {log[-1] + 1}")


def test_reordered_events_are_named(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    first, second = log[6], log[7]
    sql(db_session, "UPDATE audit_events SET id = -1 WHERE id = :id", id=first)
    sql(db_session, "UPDATE audit_events SET id = :a WHERE id = :b", a=first, b=second)
    sql(db_session, "UPDATE audit_events SET id = :b WHERE id = -1", b=second)
    outcome = verify(log_ctx, signer)
    assert outcome.verification.bad_event == first


def test_truncation_is_found_against_the_recorded_head(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    sql(db_session, "DELETE FROM audit_events WHERE id >= :id", id=log[7])
    outcome = verify(log_ctx, signer)
    assert "truncated" in (outcome.problem or "")
    assert outcome.verification.bad_event == log[7]


def test_truncation_with_a_rewound_head_is_found_against_a_held_checkpoint(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    held = _held(log_ctx, signer)
    sql(db_session, "DELETE FROM audit_events WHERE id >= :id", id=log[7])
    rehash_everything(db_session)
    assert verify(log_ctx, signer).ok, "without a checkpoint, a thorough attacker wins"
    _fails(log_ctx, signer, "held checkpoint", "truncated", held=held)


def test_history_rewritten_after_a_checkpoint_is_found(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    held = _held(log_ctx, signer)
    append(db_session, 3)  # work goes on
    assert verify(log_ctx, signer, held).ok
    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=log[1])
    rehash_everything(db_session)
    assert verify(log_ctx, signer).ok, "without a checkpoint, a thorough attacker wins"
    _fails(log_ctx, signer, "held checkpoint", "history rewritten", held=held)


def test_a_checkpoint_recorded_in_the_log_catches_a_later_rewrite(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    audit_log.take_checkpoint(log_ctx, signer)
    append(db_session, 2)
    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=log[1])
    rehash_everything(db_session)
    _fails(log_ctx, signer, "recorded as event", "history rewritten")


def test_a_rewrite_after_the_checkpoint_is_not_blamed_on_it(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    held = _held(log_ctx, signer)
    extra = append(db_session, 3)
    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=extra[1])
    rehash_everything(db_session)
    outcome = verify(log_ctx, signer, held)
    assert outcome.ok, "events after the checkpoint are not covered by it"


def test_a_forged_or_foreign_checkpoint_is_refused(
    log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    held = _held(log_ctx, signer)
    with pytest.raises(ValidationError, match="does not verify"):
        verify(log_ctx, signer, held.replace(f"\n{log[-1]}\n", f"\n{log[-1] - 1}\n"))
    other_log = sign_checkpoint(signer, "another.example/log", log[-1], b"\x00" * 32)
    with pytest.raises(ValidationError, match=r"another\.example/log"):
        verify(log_ctx, signer, other_log)


def test_checkpoints_and_proofs_are_refused_for_a_broken_log(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    sql(db_session, "DELETE FROM audit_events WHERE id = :id", id=log[3])
    with pytest.raises(AuditLogBroken, match=f"event {log[3]} is missing"):
        audit_log.take_checkpoint(log_ctx, signer)
    with pytest.raises(AuditLogBroken):
        audit_log.prove_inclusion(log_ctx, signer, log[0])


def _recorded_checkpoint(session: Session) -> tuple[int, dict[str, object]]:
    settle(session)  # the checkpoint's event, a leaf of the tree
    position, detail = audit_queries.checkpoint_events(session)[-1]
    return position, dict(detail)


def _rewrite_detail(session: Session, position: int, detail: dict[str, object]) -> None:
    sql(
        session,
        "UPDATE audit_events SET detail = :d WHERE id = :id",
        d=json.dumps(detail, sort_keys=True),
        id=position,
    )


def test_a_recorded_checkpoint_whose_signature_fails_is_tampering(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    """The attacker rewrites history, then the checkpoint the log recorded so that it fits
    the new tree; they cannot sign it, so the installation's signature no longer verifies."""
    audit_log.take_checkpoint(log_ctx, signer)
    position, detail = _recorded_checkpoint(db_session)
    append(db_session, 2)
    sql(db_session, "UPDATE audit_events SET actor = 'innocent' WHERE id = :id", id=log[1])
    rehash_everything(db_session)
    new_root = rfc6962.mth(all_event_bytes(db_session)[: position - 1])
    text, _, signatures = str(detail["checkpoint"]).partition("\n\n")
    origin, size, _old_root, *rest = text.split("\n")
    forged = "\n".join([origin, size, base64.b64encode(new_root).decode(), *rest])
    detail.update(checkpoint=f"{forged}\n\n{signatures}", root=base64.b64encode(new_root).decode())
    _rewrite_detail(db_session, position, detail)
    rehash_everything(db_session)  # every hash fits again; only the signature is wrong
    problem = _fails(log_ctx, signer, f"recorded as event {position}", "does not verify")
    assert "signature" in problem
    with pytest.raises(AuditLogBroken, match=f"event {position}"):
        audit_log.take_checkpoint(log_ctx, signer)


def test_a_recorded_checkpoint_emptied_of_its_note_is_tampering(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    audit_log.take_checkpoint(log_ctx, signer)
    position, detail = _recorded_checkpoint(db_session)
    detail["checkpoint"] = str(detail["checkpoint"]).partition("\n\n")[0] + "\n"
    _rewrite_detail(db_session, position, detail)
    rehash_everything(db_session)
    _fails(log_ctx, signer, f"recorded as event {position}", "not a signed note")


def test_a_recorded_checkpoint_of_another_key_is_skipped_and_said(
    db_session: Session, log_ctx: Context, signer: Signer, log: list[int]
) -> None:
    """After a key change, checkpoints signed by the former key cannot be checked."""
    former = generate_signer(ORIGIN)
    audit_log.take_checkpoint(log_ctx, former)
    position, _ = _recorded_checkpoint(db_session)
    outcome = verify(log_ctx, signer)
    assert outcome.ok, outcome.problem
    assert outcome.log_checkpoints == 0
    assert len(outcome.skipped) == 1
    assert f"event {position}" in outcome.skipped[0]
    assert "another key" in outcome.skipped[0]
