"""Proofs from the live log, checked with the verifier key alone and against the reference."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy.orm import Session

from incidents.audit.proofs import check_proof
from incidents.audit.signing import Signer, generate_signer, open_checkpoint, sign_checkpoint
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.services import audit_log
from tests.audit import rfc6962
from tests.audit.conftest import ACTION, ORIGIN, all_event_bytes, append, verify


def _hashes(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def test_an_inclusion_proof_matches_path_and_checks_with_the_key_alone(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    positions = append(db_session, 11)
    data = all_event_bytes(db_session)
    for position in (positions[0], positions[5], positions[-1]):
        document = audit_log.prove_inclusion(log_ctx, signer, position)
        assert document["leaf_index"] == position - 1
        assert document["tree_size"] == len(data)
        assert document["event"].encode() == data[position - 1]
        assert _hashes(document["inclusion_path"]) == rfc6962.path(position - 1, data)
        checkpoint = open_checkpoint(document["checkpoint"], signer.verifier)
        assert checkpoint.root == rfc6962.mth(data)
        message = check_proof(json.dumps(document), signer.verifier)
        assert f"event {position} is in the log {ORIGIN}" in message


def test_an_inclusion_proof_against_a_held_checkpoint(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    positions = append(db_session, 5)
    outcome = verify(log_ctx, signer)
    held = sign_checkpoint(signer, ORIGIN, outcome.size, outcome.root)
    later = append(db_session, 4)
    document = audit_log.prove_inclusion(log_ctx, signer, positions[2], held)
    assert document["tree_size"] == outcome.size
    assert document["checkpoint"] == held
    check_proof(json.dumps(document), signer.verifier)
    with pytest.raises(ValidationError, match="came after the checkpoint"):
        audit_log.prove_inclusion(log_ctx, signer, later[0], held)
    with pytest.raises(NotFound):
        audit_log.prove_inclusion(log_ctx, signer, later[-1] + 100)


def test_a_consistency_proof_matches_proof_and_checks(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    append(db_session, 6)
    old = verify(log_ctx, signer)
    held = sign_checkpoint(signer, ORIGIN, old.size, old.root)
    append(db_session, 7)
    data = all_event_bytes(db_session)
    document = audit_log.prove_consistency(log_ctx, signer, held)
    assert _hashes(document["consistency_path"]) == rfc6962.proof(old.size, data)
    message = check_proof(json.dumps(document), signer.verifier)
    assert f"extends the log of {old.size} events" in message


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda d: d.update(event=d["event"].replace(ACTION, "record.other")), "not, as"),
        (lambda d: d.update(leaf_index=d["leaf_index"] + 1), "says it is event"),
        (lambda d: d.update(tree_size=d["tree_size"] + 1), "checkpoint for"),
        (lambda d: d.update(inclusion_path=d["inclusion_path"][:-1]), "not, as"),
        (lambda d: d.update(inclusion_path="x"), "path"),
        (lambda d: d.update(kind="other"), "kind"),
        (lambda d: d.update(format="x"), "format"),
    ],
)
def test_an_altered_inclusion_proof_fails(
    db_session: Session, log_ctx: Context, signer: Signer, tamper: object, reason: str
) -> None:
    positions = append(db_session, 6)
    document = audit_log.prove_inclusion(log_ctx, signer, positions[2])
    tamper(document)  # type: ignore[operator]
    with pytest.raises(ValidationError, match=reason):
        check_proof(json.dumps(document), signer.verifier)


def test_a_proof_does_not_check_with_another_key(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    positions = append(db_session, 2)
    document = audit_log.prove_inclusion(log_ctx, signer, positions[0])
    with pytest.raises(ValidationError, match="no signature by the key"):
        check_proof(json.dumps(document), generate_signer(ORIGIN).verifier)
    with pytest.raises(ValidationError, match="not JSON"):
        check_proof("{", signer.verifier)


def test_a_consistency_proof_of_a_rewritten_log_fails(
    db_session: Session, log_ctx: Context, signer: Signer
) -> None:
    append(db_session, 6)
    old = verify(log_ctx, signer)
    held = sign_checkpoint(signer, ORIGIN, old.size, old.root)
    append(db_session, 3)
    document = audit_log.prove_consistency(log_ctx, signer, held)
    forged_old = sign_checkpoint(signer, ORIGIN, old.size, b"\x01" * 32)
    document["old_checkpoint"] = forged_old
    with pytest.raises(ValidationError, match="does not extend"):
        check_proof(json.dumps(document), signer.verifier)
