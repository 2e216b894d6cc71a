"""The kinds of record, as one table: what each is called, what may be entered for it,
how its reference is made, whether it can be erased and what goes with it, which of
its secret fields are blind-indexed.

References (INC-2017-0001), the URL converters, the generic create and update
(incidents/services/records.py), erasure and export all read this table; a new kind of
record is a row here and, if it needs one, a small module of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from incidents.errors import NotFound
from incidents.models import (
    Act,
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    Consent,
    Evidence,
    FollowUp,
    Incident,
    Involvement,
    Organisation,
    Person,
    Report,
    Source,
    StateResponse,
)
from incidents.models.vocabularies import (
    ActEndStatus,
    ActionKind,
    ActionStatus,
    ActType,
    AgeBand,
    Attribution,
    Channel,
    ConsentUse,
    Gender,
    Impact,
    IncidentStatus,
    InvolvementDegree,
    OrganisationKind,
    PerpetratorKind,
    Priority,
    ReportStatus,
    ResponseKind,
    RiskLevel,
    SourceKind,
    SourceReliability,
    StateResponseKind,
    ViolationType,
)
from incidents.permissions import Permission
from incidents.records.action_parts import Colleague, Moment, on_action
from incidents.records.fields import (
    Choice,
    Choices,
    Day,
    FuzzyDate,
    Lines,
    Link,
    LinkList,
    Number,
    PartialDate,
    Secret,
    Text,
    country,
    language,
)
from incidents.records.indexing import (
    INCIDENT_INDEX,
    INVOLVEMENT_INDEX,
    PERSON_INDEX,
    SOURCE_INDEX,
)
from incidents.records.inputs import ends_after_starts
from incidents.records.kind import Dependent, RecordKind

LONG_TEXT = 20_000
SELF_DESCRIPTION = 200  # how a person describes their orientation or identity


def _consent_check(values: Mapping[str, Any]) -> dict[str, str]:
    """One giver, a person or a source; and no withdrawal before the consent was given."""
    if (values.get("person_id") is None) == (values.get("source_id") is None):
        return {"person": "Choose the person or the source who gave this consent, not both."}
    given, withdrawn = values.get("granted_on"), values.get("revoked_on")
    if isinstance(given, date) and isinstance(withdrawn, date) and withdrawn < given:
        return {
            "revoked_on": f"The consent was given on {given.isoformat()}; "
            "it cannot be withdrawn before that day."
        }
    return {}


ORGANISATION = RecordKind(
    "organisation",
    Organisation,
    "organisation",
    fields=(
        Text("name", "name", required=True, max_length=200),
        Choice("kind", "kind of organisation", required=True, vocabulary=OrganisationKind),
        country(),
        Text("website", "website", max_length=300),
        Text("notes", "notes", max_length=LONG_TEXT),
    ),
    write_permission=Permission.ADVOCACY_WRITE,
)

INCIDENT = RecordKind(
    "incident",
    Incident,
    "incident",
    fields=(
        Text("title", "title", required=True),
        Text("summary", "summary", max_length=LONG_TEXT, blank=""),
        Secret("narrative", "full account"),
        Choices("violation_types", "violation types", vocabulary=ViolationType),
        country(),
        Text("region", "region", max_length=200),
        Secret("place_detail", "precise place", max_length=5000),
        FuzzyDate("start_date", "start date", precision_field="start_precision"),
        FuzzyDate("end_date", "end date", precision_field="end_precision"),
        Choice("status", "status", vocabulary=IncidentStatus),
        Number("estimated_victims", "estimated number of victims"),
    ),
    prefix="INC",
    reference_year="start_date",
    erasable=True,
    check=ends_after_starts("start_date", "end_date"),
    indexed=INCIDENT_INDEX,
)

SOURCE = RecordKind(
    "source",
    Source,
    "source",
    fields=(
        Choice("kind", "kind of source", required=True, vocabulary=SourceKind),
        Secret("identity", "identity", max_length=1000),
        Secret("contact", "contact", max_length=1000),
        Choice("reliability", "reliability", vocabulary=SourceReliability),
        Choice("risk_level", "risk level", vocabulary=RiskLevel),
        Secret("protective_notes", "protective notes", max_length=5000),
    ),
    prefix="SRC",
    erasable=True,
    dependents=(Dependent(Consent, "source_id"),),
    indexed=SOURCE_INDEX,
)

REPORT = RecordKind(
    "report",
    Report,
    "report",
    fields=(
        Text("title", "title", required=True),
        Link("source", "source", kind="source"),
        Link("incident", "incident", kind="incident"),
        Day("received_on", "date received", required=True),
        Choice("channel", "channel", required=True, vocabulary=Channel),
        language(),
        Secret("narrative", "account"),
        Number("credibility", "credibility", minimum=1, maximum=6),
        Choice("status", "status", vocabulary=ReportStatus),
        Text("rejection_reason", "reason for rejecting", max_length=2000),
    ),
    prefix="RPT",
    reference_year="received_on",
    erasable=True,
    dependents=(Dependent(Evidence, "report_id"),),
)

STATE_RESPONSE = RecordKind(
    "state_response",
    StateResponse,
    "official response",
    fields=(
        Link("incident", "incident", required=True, kind="incident"),
        Choice("kind", "kind of response", required=True, vocabulary=StateResponseKind),
        FuzzyDate("date", "date", precision_field="date_precision"),
        Text("authority", "authority", required=True),
        Text("description", "description", max_length=LONG_TEXT, blank=""),
        Link("supporting_report", "supporting report", kind="report"),
    ),
)

PERSON = RecordKind(
    "person",
    Person,
    "person",
    fields=(
        Secret("full_name", "full name", required=True, max_length=300),
        Lines("aliases", "other names"),
        PartialDate("date_of_birth", "date of birth"),
        Secret("contact", "contact", max_length=1000),
        Choice("gender", "gender", vocabulary=Gender),
        Choice("age_band", "age band", vocabulary=AgeBand),
        # In the person's own words; empty is "not recorded". Never read off `gender`.
        Secret("sexual_orientation", "sexual orientation", max_length=SELF_DESCRIPTION),
        Secret("gender_identity", "gender identity", max_length=SELF_DESCRIPTION),
    ),
    prefix="PER",
    erasable=True,
    dependents=(
        Dependent(Consent, "person_id"),
        Dependent(Act, "person_id", then=(Dependent(Involvement, "act_id"),)),
    ),
    indexed=PERSON_INDEX,
)

CONSENT = RecordKind(
    "consent",
    Consent,
    "consent",
    fields=(
        Link("person", "person", kind="person"),
        Link("source", "source", kind="source"),
        Choice("use", "use", required=True, vocabulary=ConsentUse),
        Day("granted_on", "date given", required=True),
        Day("revoked_on", "date withdrawn"),
        Secret("notes", "conditions", max_length=5000),
    ),
    check=_consent_check,
    creator="recorded_by_id",
)

ACT = RecordKind(
    "act",
    Act,
    "act",
    fields=(
        Link("person", "person", required=True, kind="person"),
        Link("incident", "incident", required=True, kind="incident"),
        Choice("act_type", "act", required=True, vocabulary=ActType),
        FuzzyDate("start_date", "start date", precision_field="start_precision"),
        FuzzyDate("end_date", "end date", precision_field="end_precision"),
        Choice("end_status", "status at the end", vocabulary=ActEndStatus),
        Choice("attribution", "officials' position", vocabulary=Attribution),
        Secret("notes", "notes"),
    ),
    check=ends_after_starts("start_date", "end_date"),
)

INVOLVEMENT = RecordKind(
    "involvement",
    Involvement,
    "perpetrator",
    fields=(
        Link("act", "act", required=True, kind="act"),
        Choice("perpetrator_kind", "kind of perpetrator", vocabulary=PerpetratorKind),
        Secret("perpetrator_names", "names", max_length=5000),
        Secret("units", "units", max_length=5000),
        Choice("degree", "degree of involvement", vocabulary=InvolvementDegree),
    ),
    indexed=INVOLVEMENT_INDEX,
)

# Evidence is received as a file (incidents/services/evidence/intake.py), not typed in.
EVIDENCE = RecordKind("evidence", Evidence, "evidence file")

CAMPAIGN = RecordKind(
    "campaign",
    Campaign,
    "campaign",
    fields=(
        Text("name", "name", required=True, max_length=200),
        Text("description", "description", max_length=LONG_TEXT, blank=""),
        Day("start_date", "start date"),
        Day("end_date", "end date"),
    ),
    check=ends_after_starts("start_date", "end_date"),
    write_permission=Permission.ADVOCACY_WRITE,
)

ADVOCACY_ACTION = RecordKind(
    "advocacy_action",
    AdvocacyAction,
    "advocacy action",
    fields=(
        Link("campaign", "campaign", kind="campaign"),
        Choice("kind", "kind of action", required=True, vocabulary=ActionKind),
        Text("title", "title", required=True),
        Text("description", "description", max_length=LONG_TEXT, blank=""),
        Day("start_date", "start date"),
        Day("end_date", "end date"),
        Text("target", "target"),
        Text("places", "places", max_length=500),
        Text("demands", "demands", max_length=LONG_TEXT),
        Number("signatures", "number of signatures"),
        Number("participants", "number of participants"),
        Choice("priority", "priority", vocabulary=Priority),
        Choice("status", "status", vocabulary=ActionStatus),
        Text("external_reference", "external reference", max_length=100),
        Choice("impact", "impact", vocabulary=Impact),
        LinkList("organisations", "organisations", kind="organisation"),
    ),
    prefix="ACT",
    reference_year="start_date",
    check=ends_after_starts("start_date", "end_date"),
    write_permission=Permission.ADVOCACY_WRITE,
)

ACTION_RESPONSE = on_action(
    "action_response",
    ActionResponse,
    "response",
    Choice("kind", "kind of response", required=True, vocabulary=ResponseKind),
    Day("date", "date"),
    Text("text", "text", max_length=LONG_TEXT, blank=""),
    Link("supporting_report", "supporting report", kind="report"),
)

FOLLOW_UP = on_action(
    "follow_up",
    FollowUp,
    "follow-up",
    Text("description", "description", required=True, max_length=LONG_TEXT),
    Day("due_on", "due date"),
    Colleague("assignee", "assignee"),
    Moment("done_at", "done"),
)

ACTION_LINK = on_action(
    "action_link",
    ActionLink,
    "link to a report",
    Link("report", "report", required=True, kind="report"),
    Text("note", "note", max_length=LONG_TEXT, blank=""),
    creator="created_by_id",
)

# Referenced kinds come before the kinds that refer to them: the order of exports, and the
# order in which an import can create records.
KINDS: tuple[RecordKind, ...] = (
    ORGANISATION,
    INCIDENT,
    SOURCE,
    REPORT,
    STATE_RESPONSE,
    PERSON,
    CONSENT,
    ACT,
    INVOLVEMENT,
    EVIDENCE,
    CAMPAIGN,
    ADVOCACY_ACTION,
    ACTION_RESPONSE,
    FOLLOW_UP,
    ACTION_LINK,
)

_BY_NAME = {kind.name: kind for kind in KINDS}
_BY_MODEL = {kind.model: kind for kind in KINDS}
_BY_PREFIX = {kind.prefix: kind for kind in KINDS if kind.prefix}


def kind_named(name: str) -> RecordKind:
    return _BY_NAME[name]


def kind_of(model: type[Any]) -> RecordKind:
    return _BY_MODEL[model]


def kind_of_reference(reference: str, *, erasable: bool = False) -> RecordKind:
    """The kind whose references look like `reference`; NotFound for anything else."""
    kind = _BY_PREFIX.get(reference.partition("-")[0])
    pattern = kind.reference_pattern if kind is not None else None
    if kind is None or pattern is None or not re.fullmatch(pattern, reference):
        raise NotFound(f"{reference!r} is not a reference of a record")
    if erasable and not kind.erasable:
        raise NotFound(f"{reference!r} is not the reference of an erasable record")
    return kind


def referenced_kinds(*, erasable: bool = False) -> list[RecordKind]:
    """Kinds with references (those that can be erased, with `erasable`)."""
    return [k for k in KINDS if k.prefix and (k.erasable or not erasable)]


def indexed_kinds() -> list[RecordKind]:
    return [k for k in KINDS if k.indexed]
