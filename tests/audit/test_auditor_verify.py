"""Verify now, from the auditor's page: not again within minutes of the last checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.signing import Signer, open_checkpoint
from incidents.db import utcnow
from incidents.errors import PermissionDenied
from incidents.models.audit import AuditEvent
from incidents.models.vocabularies import Role
from incidents.services import audit as audit_service
from tests.audit.conftest import ACTOR, ORIGIN, append
from tests.factories import UserFactory


def _checkpoints(session: Session) -> int:
    statement = select(func.count()).select_from(AuditEvent)
    return session.scalar(statement.where(AuditEvent.action == "audit.checkpoint")) or 0


def test_a_second_verification_waits_for_the_interval(db_session: Session, signer: Signer) -> None:
    auditor = UserFactory(role=Role.AUDITOR)
    append(db_session, 3)
    first = audit_service.verify_for_auditor(db_session, auditor, signer, ORIGIN, ACTOR)
    assert first.outcome is not None and first.outcome.ok
    assert first.checkpoint is not None and first.too_soon is None
    assert _checkpoints(db_session) == 1

    soon = utcnow() + audit_service.VERIFY_INTERVAL - timedelta(seconds=5)
    refused = audit_service.verify_for_auditor(db_session, auditor, signer, ORIGIN, ACTOR, now=soon)
    assert refused.outcome is None and refused.checkpoint is None
    recent = refused.too_soon
    assert recent is not None
    assert recent.checkpoint == first.checkpoint, "the last checkpoint, to keep"
    assert open_checkpoint(recent.checkpoint, signer.verifier).size == first.outcome.size
    assert recent.next_at == recent.recorded_at + audit_service.VERIFY_INTERVAL
    assert _checkpoints(db_session) == 1, "nothing was recorded"

    later = utcnow() + audit_service.VERIFY_INTERVAL + timedelta(seconds=1)
    again = audit_service.verify_for_auditor(db_session, auditor, signer, ORIGIN, ACTOR, now=later)
    assert again.outcome is not None and again.outcome.ok and again.too_soon is None
    assert _checkpoints(db_session) == 2


def test_only_auditors_verify(db_session: Session, signer: Signer) -> None:
    researcher = UserFactory(role=Role.RESEARCHER)
    with pytest.raises(PermissionDenied):
        audit_service.verify_for_auditor(db_session, researcher, signer, ORIGIN, ACTOR)
