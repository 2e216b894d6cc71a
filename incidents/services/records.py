"""Creating case records: references, sealing of secret fields, and the audit event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.vault import FieldVault
from incidents.models.advocacy import AdvocacyAction
from incidents.models.incident import Incident
from incidents.models.person import Person
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.repositories.references import next_reference

RecordT = TypeVar("RecordT")

# prefix, and the attribute whose year goes into the reference (None: no year)
REFERENCE_SCHEMES: dict[type[Any], tuple[str, str | None]] = {
    Incident: ("INC", "start_date"),
    Report: ("RPT", "received_on"),
    AdvocacyAction: ("ACT", "start_date"),
    Source: ("SRC", None),
    Person: ("PER", None),
}


def assign_reference(session: Session, record: Any) -> None:
    """Give `record` the next reference of its kind, unless it already has one."""
    scheme = REFERENCE_SCHEMES.get(type(record))
    if scheme is None or getattr(record, "reference", None):
        return
    prefix, year_attribute = scheme
    if year_attribute is not None:
        when: date | None = getattr(record, year_attribute)
        year = when.year if when else datetime.now(UTC).year
        prefix = f"{prefix}-{year}"
    record.reference = next_reference(session, prefix)


def create_record(
    session: Session,
    vault: FieldVault,
    actor: Actor,
    record_type: type[RecordT],
    secrets: dict[str, str | None] | None = None,
    **fields: Any,
) -> RecordT:
    """Add a record with its plain `fields` and encrypted `secrets`; audit its creation."""
    record = record_type(**fields)
    assign_reference(session, record)
    if secrets:
        vault.seal(record, **secrets)  # type: ignore[arg-type]
    session.add(record)
    session.flush()
    changed = [name for name in fields if not name.endswith("_id")] + list(secrets or {})
    record_event(session, actor, "record.create", record, fields=changed)
    return record
