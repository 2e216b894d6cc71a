"""Verify now, from the auditor's page: not again within minutes of the last checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.signing import Signer, open_checkpoint
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import PermissionDenied
from incidents.models.vocabularies import Role
from incidents.services import auditor as auditor_service
from tests.audit.conftest import ORIGIN, append
from tests.factories import UserFactory
from tests.helpers import count_events


def _checkpoints(session: Session) -> int:
    return count_events(session, AuditAction.AUDIT_CHECKPOINT)


def test_a_second_verification_waits_for_the_interval(
    db_session: Session, context_for: Callable[..., Context], signer: Signer
) -> None:
    auditor = context_for(UserFactory(role=Role.AUDITOR), audit_log_origin=ORIGIN)
    append(db_session, 3)
    first = auditor_service.verify_for_auditor(auditor, signer)
    assert first.outcome is not None and first.outcome.ok
    assert first.checkpoint is not None and first.too_soon is None
    assert _checkpoints(db_session) == 1

    soon = utcnow() + auditor_service.VERIFY_INTERVAL - timedelta(seconds=5)
    refused = auditor_service.verify_for_auditor(auditor, signer, now=soon)
    assert refused.outcome is None and refused.checkpoint is None
    recent = refused.too_soon
    assert recent is not None
    assert recent.checkpoint == first.checkpoint, "the last checkpoint, to keep"
    assert open_checkpoint(recent.checkpoint, signer.verifier).size == first.outcome.size
    assert recent.next_at == recent.recorded_at + auditor_service.VERIFY_INTERVAL
    assert _checkpoints(db_session) == 1, "nothing was recorded"

    later = utcnow() + auditor_service.VERIFY_INTERVAL + timedelta(seconds=1)
    again = auditor_service.verify_for_auditor(auditor, signer, now=later)
    assert again.outcome is not None and again.outcome.ok and again.too_soon is None
    assert _checkpoints(db_session) == 2


def test_only_auditors_verify(context_for: Callable[..., Context], signer: Signer) -> None:
    researcher = context_for(UserFactory(role=Role.RESEARCHER), audit_log_origin=ORIGIN)
    with pytest.raises(PermissionDenied):
        auditor_service.verify_for_auditor(researcher, signer)
