"""Crypto-shredding: erasing a record deletes its data key and blind-index rows.

What remains is the row with its ciphertext cleared, a tombstone (reference, date,
reason, who) and an audit event. Without the data key, no copy of the ciphertext —
in a backup, a dump, a replica — can be decrypted with any key the installation holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.vault import secret_field_names
from incidents.errors import NotFound, ValidationError
from incidents.models import Consent, Erasure, Incident, Person, Report, Source
from incidents.models.user import User
from incidents.permissions import Permission, ensure
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import erasure as erasure_queries
from incidents.services.evidence import forget_stored_files
from incidents.storage.store import EvidenceStore

MAX_REASON = 1000
ERASABLE: dict[str, type[Any]] = {"INC": Incident, "RPT": Report, "SRC": Source, "PER": Person}
_REFERENCE = re.compile(r"^(INC|RPT|SRC|PER)-[0-9-]+$")


@dataclass(frozen=True)
class ErasureOutcome:
    tombstone: Erasure
    records_shredded: int  # the record and the dependent records shredded with it


def _model_for(reference: str) -> type[Any]:
    if not _REFERENCE.match(reference):
        raise NotFound(f"{reference!r} is not the reference of an erasable record")
    return ERASABLE[reference[:3]]


def _dependents(session: Session, record: Any) -> list[Any]:
    """Records that describe the erased one and go with it.

    A person's consents, acts and their perpetrator details; a source's consents; a
    report's evidence. An incident's reports are accounts by sources in their own right
    and are erased on their own.
    """
    if isinstance(record, Person):
        acts = erasure_queries.acts_of_person(session, record.id)
        involvements = [i for act in acts for i in act.involvements]
        return [
            *erasure_queries.consents_of(session, Consent.person_id, record.id),
            *acts,
            *involvements,
        ]
    if isinstance(record, Source):
        return list(erasure_queries.consents_of(session, Consent.source_id, record.id))
    if isinstance(record, Report):
        return list(erasure_queries.evidence_of_report(session, record.id))
    return []


def _shred(session: Session, record: Any) -> None:
    table = record.__tablename__
    erasure_queries.delete_data_key(session, table, record.id)
    index_queries.delete_entries(session, table, [record.id])
    for name in secret_field_names(type(record)):
        setattr(record, name, None)


def erase_record(
    session: Session,
    actor: Actor,
    user: User | None,
    reference: str,
    reason: str,
    store: EvidenceStore | None = None,
) -> ErasureOutcome:
    """Crypto-shred the record `reference` (and what describes it); the caller commits.

    `user` is the acting account on the web; None at the command line, where holding the
    key file already gives full power over the data. With the evidence `store`, the stored
    files of an erased report's evidence are deleted once the erasure commits.
    """
    model = _model_for(reference)
    reason = reason.strip()
    if not reason:
        raise ValidationError("give a reason for the erasure", {"reason": "required"})
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"the reason is longer than {MAX_REASON} characters", {"reason": "too long"}
        )
    record = _record(session, user, model, reference)  # NotFound before saying anything
    if erasure_queries.tombstone(session, reference) is not None:
        raise ValidationError(f"{reference} was already erased")
    shredded = [record, *_dependents(session, record)]
    for item in shredded:
        _shred(session, item)
    if store is not None:
        forget_stored_files(session, store, shredded)
    tombstone = Erasure(
        record_table=record.__tablename__,
        record_id=record.id,
        reference=reference,
        team_id=record.team_id,
        erased_by=actor.label,
        erased_by_id=actor.user_id,
        reason=reason,
    )
    session.add(tombstone)
    session.flush()
    record_event(
        session,
        actor,
        "record.erase",
        record,
        fields=secret_field_names(model),
        detail={"reason": reason, "records_shredded": len(shredded)},
    )
    return ErasureOutcome(tombstone, len(shredded))


def erasable_record(session: Session, user: User, reference: str) -> Any:
    """The record `reference` if `user` may erase it: NotFound for an unknown, erased or
    other team's record, PermissionDenied without case:write."""
    record = _record(session, user, _model_for(reference), reference)
    if erasure_queries.tombstone(session, reference) is not None:
        raise NotFound(f"{reference} was erased")
    return record


def _record(session: Session, user: User | None, model: type[Any], reference: str) -> Any:
    """The record, if it exists and `user` (None: the command line) may change it."""
    record = erasure_queries.record_by_reference(session, model, reference)
    if record is None:
        raise NotFound(f"no record {reference}")
    if user is not None:
        ensure(user, Permission.CASE_WRITE, record)
    return record


def tombstone_for(session: Session, user: User, reference: str) -> Erasure | None:
    """The tombstone of `reference` if it was erased; NotFound if it is another team's."""
    tombstone = erasure_queries.tombstone(session, reference)
    if tombstone is not None:
        ensure(user, Permission.CASE_READ, tombstone)
    return tombstone


def is_erased(session: Session, record: Any) -> bool:
    return erasure_queries.tombstone_of_record(session, record.__tablename__, record.id) is not None
