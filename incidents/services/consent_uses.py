"""What a report may be used for, beyond keeping it: the consent an advocacy action or a
redacted summary needs, and who has not given it.

A report may serve a use when its source allows that use and so does every person with
an act in the report's incident — the same people whose withdrawal the consent service
reports as touching the report (incidents/services/consent.py). An erased person or
source allows nothing. Nothing here decrypts: the answer names the use and counts people,
never who they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import object_session

from incidents.models.report import Report
from incidents.models.vocabularies import ActionKind, ConsentUse
from incidents.redaction import Profile
from incidents.repositories import consents as consent_queries
from incidents.services import consent

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


def missing_consents(
    report: Report, uses: Iterable[ConsentUse], on: date | None = None
) -> tuple[MissingConsent, ...]:
    """Each of `uses` that the report may not serve on `on` (today by default), with who
    has not consented; empty when it may serve them all."""
    session = object_session(report)
    if session is None:
        raise ValueError(f"report {report.id} is not in a session")
    people = (
        []
        if report.incident_id is None
        else consent_queries.people_of_incident(session, report.incident_id)
    )
    missing = []
    for use in sorted(set(uses)):
        source_missing = not consent.allows(report, use, on)
        people_missing = sum(1 for person in people if not consent.allows(person, use, on))
        if source_missing or people_missing:
            missing.append(MissingConsent(use, source_missing, people_missing, len(people)))
    return tuple(missing)


def allows(report: Report, use: ConsentUse, on: date | None = None) -> bool:
    """Whether the report may serve `use`: its source and all its incident's people agree."""
    return not missing_consents(report, (use,), on)


def refusal(reference: str, missing: Iterable[MissingConsent], purpose: str) -> str:
    """The message that refuses a report for `purpose` ("a UN submission"), naming what is
    missing: "RPT-2017-0003 cannot support a UN submission: its source has not …"."""
    reasons = "; ".join(m.describe() for m in missing)
    return f"{reference} cannot support {purpose}: {reasons}."
