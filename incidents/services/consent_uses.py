"""What a report may be used for, beyond keeping it: the consent an advocacy action or a
redacted summary needs, and who has not given it.

A report may serve a use when its source allows that use and so does every person with
an act in the report's incident — the same people whose withdrawal the consent service
reports as touching the report (incidents/services/consent.py). An erased person or
source allows nothing. Nothing here decrypts: the answer names the use and counts people,
never who they are.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session, object_session

from incidents.models.report import Report
from incidents.models.vocabularies import ActionKind, ConsentUse
from incidents.redaction import Profile
from incidents.repositories import consents as consent_queries
from incidents.repositories import records as record_queries
from incidents.services import consent

BATCH_REPORTS = 1000  # reports judged in one go: three statements, ids bound in each

# What each kind of action does with a report, as the uses its source and people must
# allow. Work kept among advocates needs anonymised use; what is published, publication
# without a name; what goes to a UN body or a court, transfer to them.
USES_BY_KIND: dict[ActionKind, frozenset[ConsentUse]] = {
    ActionKind.PETITION: frozenset({ConsentUse.ANONYMISED_ADVOCACY}),
    ActionKind.PROTEST: frozenset({ConsentUse.ANONYMISED_ADVOCACY}),
    ActionKind.LETTER: frozenset({ConsentUse.ANONYMISED_ADVOCACY}),
    ActionKind.MEETING: frozenset({ConsentUse.ANONYMISED_ADVOCACY}),
    ActionKind.OTHER: frozenset({ConsentUse.ANONYMISED_ADVOCACY}),
    ActionKind.PUBLIC_STATEMENT: frozenset(
        {ConsentUse.ANONYMISED_ADVOCACY, ConsentUse.PUBLISH_WITHOUT_NAME}
    ),
    ActionKind.MEDIA_OUTREACH: frozenset(
        {ConsentUse.ANONYMISED_ADVOCACY, ConsentUse.PUBLISH_WITHOUT_NAME}
    ),
    ActionKind.UN_SUBMISSION: frozenset({ConsentUse.TRANSFER_TO_UN_OR_COURTS}),
    ActionKind.LITIGATION: frozenset({ConsentUse.TRANSFER_TO_UN_OR_COURTS}),
}

# The use a redacted summary of each outside profile needs of every report it counts.
PROFILE_USES: dict[Profile, ConsentUse] = {
    Profile.PARTNER: ConsentUse.SHARE_WITH_PARTNERS,
    Profile.PUBLIC: ConsentUse.PUBLISH_WITHOUT_NAME,
}

# How a refusal names each use: "… have not consented to <this>".
USE_PHRASES: dict[ConsentUse, str] = {
    ConsentUse.KEEP: "being kept in this database",
    ConsentUse.ANONYMISED_ADVOCACY: "anonymised use in advocacy",
    ConsentUse.PUBLISH_WITHOUT_NAME: "publication without their name",
    ConsentUse.PUBLISH_WITH_NAME: "publication with their name",
    ConsentUse.SHARE_WITH_PARTNERS: "sharing with named partners",
    ConsentUse.TRANSFER_TO_UN_OR_COURTS: "transfer to UN bodies or courts",
}


@dataclass(frozen=True)
class MissingConsent:
    """One use a report may not serve: whether its source is the reason (no source, or no
    grant in force), and how many of the people of its incident have not granted it."""

    use: ConsentUse
    source_missing: bool
    people_missing: int
    people_total: int

    def describe(self) -> str:
        """E.g. "its source and 1 of the 3 people in its incident have not consented to …"."""
        who = []
        if self.source_missing:
            who.append("its source")
        if self.people_missing:
            who.append(
                f"{self.people_missing} of the {self.people_total} "
                f"{'person' if self.people_total == 1 else 'people'} in its incident"
            )
        verb = "have" if len(who) > 1 or self.people_missing > 1 else "has"
        return f"{' and '.join(who)} {verb} not consented to {USE_PHRASES[self.use]}"


class ReportKeys(Protocol):
    """What a report's consent depends on: its id, its source and its incident."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def source_id(self) -> uuid.UUID | None: ...
    @property
    def incident_id(self) -> uuid.UUID | None: ...


def missing_consents(
    report: Report, uses: Iterable[ConsentUse], on: date | None = None
) -> tuple[MissingConsent, ...]:
    """Each of `uses` that the report may not serve on `on` (today by default), with who
    has not consented; empty when it may serve them all."""
    session = object_session(report)
    if session is None:
        raise ValueError(f"report {report.id} is not in a session")
    return missing_consents_of(session, [report], uses, on)[report.id]


def missing_consents_of(
    session: Session,
    reports: Sequence[ReportKeys],
    uses: Iterable[ConsentUse],
    on: date | None = None,
) -> dict[uuid.UUID, tuple[MissingConsent, ...]]:
    """`missing_consents` of each report, by id, in three statements for every
    BATCH_REPORTS of them, however many people their incidents have."""
    wanted = sorted(set(uses))
    day = on or consent.today()
    missing: dict[uuid.UUID, tuple[MissingConsent, ...]] = {}
    for start in range(0, len(reports), BATCH_REPORTS):
        batch = reports[start : start + BATCH_REPORTS]
        facts = ConsentFacts.load(
            session,
            wanted,
            day,
            incident_ids={r.incident_id for r in batch if r.incident_id is not None},
            source_ids={r.source_id for r in batch if r.source_id is not None},
            erased_reports=record_queries.erased_ids(
                session, Report.__tablename__, [r.id for r in batch]
            ),
        )
        missing.update({report.id: facts.missing(report, wanted) for report in batch})
    return missing


@dataclass(frozen=True)
class ConsentFacts:
    """What the rules of `allows` read, loaded once for many reports: the people of each
    incident (with whether they were erased), the grants in force, the erased reports."""

    people: dict[uuid.UUID, list[tuple[uuid.UUID, bool]]]
    granted: frozenset[tuple[ConsentUse, uuid.UUID]]
    erased_reports: frozenset[uuid.UUID]

    @classmethod
    def load(
        cls,
        session: Session,
        uses: Iterable[ConsentUse],
        on: date,
        *,
        incident_ids: consent_queries.Ids,
        source_ids: consent_queries.Ids,
        erased_reports: Iterable[uuid.UUID],
    ) -> ConsentFacts:
        """Two statements: the people of the incidents, then the grants in force of
        them (those found) and of the sources (ids, or queries of them, as a page has
        them)."""
        people: dict[uuid.UUID, list[tuple[uuid.UUID, bool]]] = defaultdict(list)
        for incident_id, person_id, erased in consent_queries.people_of_incidents(
            session, incident_ids
        ):
            people[incident_id].append((person_id, erased))
        granted = {
            (use, owner)
            for use, source_id, person_id in consent_queries.grants_in_force(
                session,
                list(uses),
                on,
                source_ids=source_ids,
                person_ids={p for acted in people.values() for p, _ in acted},
            )
            for owner in (source_id, person_id)
            if owner is not None
        }
        return cls(dict(people), frozenset(granted), frozenset(erased_reports))

    def missing(self, report: ReportKeys, uses: Iterable[ConsentUse]) -> tuple[MissingConsent, ...]:
        """The rules of `allows`: the report's source needs a grant in force and the
        report must not be erased; each person of its incident needs a grant in force
        and must not be erased."""
        acted = self.people.get(report.incident_id, []) if report.incident_id else []
        found = []
        for use in uses:
            source_missing = (
                report.source_id is None
                or report.id in self.erased_reports
                or (use, report.source_id) not in self.granted
            )
            people_missing = sum(1 for p, gone in acted if gone or (use, p) not in self.granted)
            if source_missing or people_missing:
                found.append(MissingConsent(use, source_missing, people_missing, len(acted)))
        return tuple(found)


def usable_of(
    session: Session, reports: Sequence[ReportKeys], use: ConsentUse, on: date | None = None
) -> set[uuid.UUID]:
    """The ids of those of `reports` that may serve `use`, as `allows` decides."""
    missing = missing_consents_of(session, reports, (use,), on)
    return {report_id for report_id, lacks in missing.items() if not lacks}


def allows(report: Report, use: ConsentUse, on: date | None = None) -> bool:
    """Whether the report may serve `use`: its source and all its incident's people agree."""
    return not missing_consents(report, (use,), on)


def refusal(reference: str, missing: Iterable[MissingConsent], purpose: str) -> str:
    """The message that refuses a report for `purpose` ("a UN submission"), naming what is
    missing: "RPT-2017-0003 cannot support a UN submission: its source has not …"."""
    reasons = "; ".join(m.describe() for m in missing)
    return f"{reference} cannot support {purpose}: {reasons}."
