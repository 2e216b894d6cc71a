"""Erasure reasons: a code anyone who may see the tombstone reads, and the eraser's note
sealed with the tombstone's own data key for the researchers of its team alone — never in
the audit log, never shown to advocacy leads or auditors, with who erased it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.filters import EventFilter
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import DataKey, Erasure
from incidents.models.vocabularies import ErasureReason, Role
from incidents.services import auditor
from incidents.services.erasure import erase_record, tombstone_for
from tests.factories import PersonFactory, TeamFactory, UserFactory
from tests.helpers import events

ContextFor = Callable[..., Context]
NOTE = "Layla's brother called on 3 May: she fears for her family"


def _erased_with_note(context_for: ContextFor) -> tuple[Context, object, str]:
    team = TeamFactory()
    person = PersonFactory(team_id=team.id, secrets={"full_name": "Layla Testova"})
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team], email="eraser@example.org")
    ctx = context_for(researcher)
    erase_record(ctx, person.reference, ErasureReason.SAFETY, NOTE)
    return ctx, team, person.reference


def test_the_code_is_stored_and_the_note_sealed(
    db_session: Session, context_for: ContextFor
) -> None:
    _ctx, _team, reference = _erased_with_note(context_for)
    db_session.flush()
    tombstone = db_session.scalars(select(Erasure).where(Erasure.reference == reference)).one()
    assert tombstone.reason_code is ErasureReason.SAFETY
    raw = db_session.execute(
        text("SELECT reason_code, reason_note FROM erasures WHERE id = :id"),
        {"id": tombstone.id.hex if db_session.bind.dialect.name == "sqlite" else tombstone.id},
    ).one()
    assert raw[0] == "safety"
    assert raw[1] is not None and b"Layla" not in bytes(raw[1]) and b"fears" not in bytes(raw[1])
    # The note has a data key of its own, which the erasure of the record did not delete.
    keys = db_session.scalars(select(DataKey).where(DataKey.record_id == tombstone.id)).all()
    assert [key.record_table for key in keys] == ["erasures"]


def test_only_the_teams_researchers_read_the_note_and_who_erased(
    db_session: Session, context_for: ContextFor
) -> None:
    ctx, team, reference = _erased_with_note(context_for)
    seen = tombstone_for(ctx, reference)
    assert seen is not None
    assert (seen.reason_code, seen.note, seen.erased_by) == (
        ErasureReason.SAFETY,
        NOTE,
        "eraser@example.org",
    )
    [opened] = [
        e for e in events(db_session, AuditAction.SECRET_DECRYPT) if e.target_table == "erasures"
    ]
    assert opened.fields == ["reason_note"]  # reading the note is recorded like any secret
    for role in (Role.ADVOCACY_LEAD, Role.AUDITOR):
        other = tombstone_for(context_for(UserFactory(role=role, teams=[team])), reference)
        assert other is not None
        assert (other.reason_code, other.erased_at) == (seen.reason_code, seen.erased_at)
        assert other.note is None and other.erased_by is None, role


def test_the_audit_event_carries_the_code_and_never_the_note(
    db_session: Session, context_for: ContextFor
) -> None:
    _erased_with_note(context_for)
    [event] = events(db_session, AuditAction.RECORD_ERASE)
    assert event.detail == {"reason_code": "safety", "records_shredded": 1}
    assert "Layla" not in str(event.detail) and "fears" not in str(event.fields)


def test_the_auditor_sees_that_and_why_but_not_who(
    db_session: Session, context_for: ContextFor
) -> None:
    _ctx, team, reference = _erased_with_note(context_for)
    db_session.flush()
    watcher = context_for(UserFactory(role=Role.AUDITOR, teams=[team]))
    page = auditor.event_page(watcher, EventFilter(action=AuditAction.RECORD_ERASE.value))
    [row] = [r for r in page.events if r.target_ref == reference]
    assert row.actor == auditor.ERASER_WITHHELD
    assert row.detail["reason_code"] == "safety"
    assert "eraser@example.org" not in str(row) and "Layla" not in str(row)


def test_other_needs_a_note_and_codes_are_checked(ctx: Context) -> None:
    person = PersonFactory()
    with pytest.raises(ValidationError) as other:
        erase_record(ctx, person.reference, ErasureReason.OTHER, "  ")
    assert set(other.value.errors) == {"reason_note"}
    with pytest.raises(ValidationError) as unknown:
        erase_record(ctx, person.reference, "because")
    assert set(unknown.value.errors) == {"reason_code"}
    outcome = erase_record(ctx, person.reference, "DUPLICATE")  # a code as typed at a prompt
    assert outcome.tombstone.reason_code is ErasureReason.DUPLICATE
    assert outcome.tombstone.reason_note is None
