"""The dates a retention period can run from, per kind of record: a small, explicit table.

A rule names one of these by its key; the repository (incidents/repositories/retention.py)
knows how to read each from the database. A key here without a way to read it, or a rule
naming a key not here, is refused, so a rule can never run from a date that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT, PERSON, REPORT, SOURCE


@dataclass(frozen=True)
class FromDate:
    key: str  # stored in the rule: never changes once a rule uses it
    label: str  # "the date of its last report", after "… after"


_CREATED = FromDate("created_at", "it was recorded")
_CHANGED = FromDate("updated_at", "it was last changed")

FROM_DATES: dict[str, tuple[FromDate, ...]] = {
    INCIDENT.name: (_CREATED, _CHANGED),
    SOURCE.name: (
        # A source that has given no report yet counts from when it was recorded.
        FromDate("last_report", "its last report was received"),
        _CREATED,
        _CHANGED,
    ),
    REPORT.name: (
        FromDate("received_on", "it was received"),
        # Rejected reports only: the last change of a rejected report, which is its
        # rejection unless it was edited since (an edit only postpones the date).
        FromDate("rejected_on", "it was rejected"),
        _CREATED,
        _CHANGED,
    ),
    PERSON.name: (_CREATED, _CHANGED),
}

RETAINED_KINDS: tuple[RecordKind, ...] = (INCIDENT, SOURCE, REPORT, PERSON)


def from_dates_of(kind: str) -> tuple[FromDate, ...]:
    return FROM_DATES.get(kind, ())


def from_date(kind: str, key: str) -> FromDate | None:
    return next((d for d in from_dates_of(kind) if d.key == key), None)
