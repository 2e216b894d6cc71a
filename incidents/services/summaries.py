"""Redacted case summaries: what a partner or the public may be told of one incident.

A summary carries public fields only — violation types, country and region (never the
precise place), the month it began at most, the estimated number of victims — with
figures over the reports the profile may use: a report counts only when its source and
every person with an act in its incident consent to the profile's use
(incidents/services/consent_uses.py). It adds the official-response timeline and the
advocacy actions linked to those reports, with their outcomes. Nothing is decrypted and
no restricted, secret or advocacy working field is shown: the source kinds and grades of
the counted reports are given only as counts of sources.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy.orm import Session, object_session

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass
from incidents.models.advocacy import AdvocacyAction
from incidents.models.incident import Incident, StateResponse
from incidents.models.report import Report
from incidents.models.vocabularies import (
    ActionKind,
    ActionStatus,
    DatePrecision,
    Impact,
    ResponseKind,
    SourceKind,
    SourceReliability,
    StateResponseKind,
    ViolationType,
)
from incidents.permissions import Permission, ensure, readable_teams
from incidents.records.kinds import INCIDENT
from incidents.redaction import Profile, visible_values
from incidents.repositories import incidents as incident_queries
from incidents.repositories import records as record_queries
from incidents.repositories import summaries as summary_queries
from incidents.services import consent_uses, disclosures, records

SUMMARY_PROFILES = (Profile.PARTNER, Profile.PUBLIC)
DEFAULT_PROFILE = Profile.PARTNER
PAGE_SIZE = 25  # cases on one printable page
SCAN_BATCH = 100  # incidents read at a time while looking for shareable ones
PUBLIC = frozenset({FieldClass.PUBLIC})
# What a summary shows of an action, besides its responses: public fields, by name.
ACTION_FIELDS = (
    *("reference", "kind", "title", "start_date", "end_date"),
    *("status", "impact", "signatures", "participants"),
)
Counted = tuple[uuid.UUID, Sequence[uuid.UUID], int]  # incident, reports counted, withheld


def parse_profile(value: str | None) -> Profile:
    """The summary profile named `value` (partner when none is given); ValueError with a
    message naming the choices for anything else."""
    if value is None or value == "":
        return DEFAULT_PROFILE
    for profile in SUMMARY_PROFILES:
        if value == profile.value:
            return profile
    choices = " or ".join(p.value for p in SUMMARY_PROFILES)
    raise ValueError(f"There is no summary profile {value[:40]!r}: choose {choices}.")


def withheld_reason(profile: Profile) -> str:
    """Why reports were left out, without saying whose consent is missing."""
    return f"consent to {consent_uses.USE_PHRASES[consent_uses.PROFILE_USES[profile]]} not given"


@dataclass(frozen=True)
class KindCount:
    kind: SourceKind
    sources: int  # distinct sources of this kind among the counted reports


@dataclass(frozen=True)
class ReliabilityCount:
    reliability: SourceReliability
    sources: int


@dataclass(frozen=True)
class OfficialResponse:
    kind: StateResponseKind
    date: date | None
    date_precision: DatePrecision
    authority: str

    @property
    def when(self) -> str | None:
        """The date as precisely as it is known: "2017", "2017-04" or "2017-04-12"."""
        return _at_precision(self.date, self.date_precision)


@dataclass(frozen=True)
class Outcome:
    """A response an action received: its kind and date, never its text."""

    kind: ResponseKind
    date: date | None


@dataclass(frozen=True)
class ActionSummary:
    reference: str
    kind: ActionKind
    title: str
    start_date: date | None
    end_date: date | None
    status: ActionStatus
    impact: Impact
    signatures: int | None
    participants: int | None
    responses: tuple[Outcome, ...]


@dataclass(frozen=True)
class CaseSummary:
    """One incident as `profile` may show it; when `shareable` is false, nothing but its
    reference (no report may be used under the profile)."""

    reference: str
    profile: Profile
    shareable: bool
    withheld: int = 0  # countable reports left out for lack of consent
    violation_types: tuple[ViolationType, ...] = ()
    country: str | None = None
    region: str | None = None
    month: str | None = None  # "2017-03", or "2017" when only the year is known
    estimated_victims: int | None = None
    reports: int = 0
    independent_sources: int = 0
    sources_by_kind: tuple[KindCount, ...] = ()
    reliability_mix: tuple[ReliabilityCount, ...] = ()
    official_responses: tuple[OfficialResponse, ...] = ()
    actions: tuple[ActionSummary, ...] = ()

    @property
    def withheld_note(self) -> str | None:
        """E.g. "2 reports not counted: consent to sharing with named partners not given"."""
        if not self.shareable or not self.withheld:
            return None
        noun = "report" if self.withheld == 1 else "reports"
        return f"{self.withheld} {noun} not counted: {withheld_reason(self.profile)}"


@dataclass(frozen=True)
class Assessment:
    """Which of an incident's reports a profile may use, and how many it may not."""

    incident: Incident
    profile: Profile
    usable: tuple[Report, ...]
    withheld: int


@dataclass(frozen=True)
class SummaryPage:
    profile: Profile
    summaries: tuple[CaseSummary, ...]
    next_after: str | None  # the reference to continue after, when there are more


# -- reading -----------------------------------------------------------------------------


def summary_of(ctx: Context, reference: str, profile: Profile) -> CaseSummary:
    """The summary of the incident `reference` for a reader of its team (NotFound for
    another team's), the view recorded in the audit log with its counts."""
    incident: Incident = records.find(ctx, INCIDENT, reference)
    summary = build(assessed := assess(incident, profile))
    # Which reports went out under the profile's consent, for a later withdrawal to name.
    disclosures.record(ctx, profile, "html", [report.id for report in assessed.usable])
    detail = audit_detail(profile, "html", [summary])
    record_event(ctx.session, ctx.actor, AuditAction.EXPORT, incident, detail=detail)
    return summary


def summaries_page(ctx: Context, profile: Profile, after: str | None = None) -> SummaryPage:
    """The next `PAGE_SIZE` shareable cases of the reader's teams after `after`, by
    reference; cases no report of which may be used are left out. One audit event."""
    ensure(ctx.principal, Permission.CASE_READ)
    chosen: list[Assessment] = []
    more = False
    for assessment in shareable(ctx, profile, after):
        if len(chosen) == PAGE_SIZE:
            more = True
            break
        chosen.append(assessment)
    shown = build_many(ctx.session, chosen)
    disclosures.record(ctx, profile, "html", [r.id for a in chosen for r in a.usable])
    record_event(
        ctx.session, ctx.actor, AuditAction.EXPORT, detail=audit_detail(profile, "html", shown)
    )
    return SummaryPage(profile, tuple(shown), shown[-1].reference if more else None)


def shareable(ctx: Context, profile: Profile, after: str | None = None) -> Iterator[Assessment]:
    """The incidents of the principal's teams (every team for the operator), by reference
    after `after`, that have at least one report `profile` may use; erased ones left out."""
    teams = readable_teams(ctx.principal)
    while True:
        batch = incident_queries.incident_page(ctx.session, teams, after, SCAN_BATCH)
        if not batch:
            return
        for assessment in assess_many(ctx.session, batch, profile):
            if assessment.usable:
                yield assessment
        if len(batch) < SCAN_BATCH:
            return
        after = batch[-1].reference


def assess(incident: Incident, profile: Profile, on: date | None = None) -> Assessment:
    """Sort the incident's countable reports into those `profile` may use and the rest."""
    return assess_many(_session_of(incident), [incident], profile, on)[0]


def assess_many(
    session: Session, incidents: Sequence[Incident], profile: Profile, on: date | None = None
) -> list[Assessment]:
    """`assess` of each incident, in order, in a fixed number of statements for all of
    them (consent_uses decides each report, over facts read once)."""
    use = consent_uses.PROFILE_USES[profile]
    erased = record_queries.erased_ids(session, INCIDENT.table, [i.id for i in incidents])
    live = [i.id for i in incidents if i.id not in erased]
    reports = summary_queries.countable_reports_of(session, live)
    every = [report for found in reports.values() for report in found]
    usable = consent_uses.usable_of(session, every, use, on)
    assessments = []
    for incident in incidents:
        countable = reports.get(incident.id, [])  # none of an erased case
        kept = tuple(r for r in countable if r.id in usable)
        assessments.append(Assessment(incident, profile, kept, len(countable) - len(kept)))
    return assessments


def reassess_many(ctx: Context, profile: Profile, cases: Sequence[Counted]) -> list[Assessment]:
    """Assessments made earlier, loaded again (an export writes what it counted): the
    incidents and reports in a statement each, then each incident found as `records.find`
    finds it, in the session (`_held` keeps them there)."""
    _held = record_queries.by_ids(ctx.session, Incident, [case[0] for case in cases])
    wanted = [report_id for _, ids, _ in cases for report_id in ids]
    reports = {r.id: r for r in summary_queries.reports_by_ids(ctx.session, wanted)}
    found = [records.find(ctx, INCIDENT, incident_id) for incident_id, _, _ in cases]
    return [
        Assessment(
            incident,
            profile,
            tuple(sorted((reports[i] for i in ids), key=attrgetter("reference"))),
            kept,
        )
        for incident, (_, ids, kept) in zip(found, cases, strict=True)
    ]


def build(assessment: Assessment) -> CaseSummary:
    """The summary of an assessed incident, for the profile it was assessed for."""
    return build_many(_session_of(assessment.incident), [assessment])[0]


def build_many(session: Session, assessments: Sequence[Assessment]) -> list[CaseSummary]:
    """`build` of each assessment, in order, in three statements for all of them: the
    official responses, the actions linked to the counted reports, their responses."""
    shared = [a for a in assessments if a.usable]
    official = summary_queries.state_responses_of(session, [a.incident.id for a in shared])
    rows = summary_queries.actions_linked_to_reports(
        session, [r.id for a in shared for r in a.usable]
    )
    actions_of = {a.incident.id: _linked_actions(a, rows) for a in shared}
    outcomes = _outcomes(session, [x for actions in actions_of.values() for x in actions])
    return [
        _summary(a, official.get(a.incident.id, []), actions_of[a.incident.id], outcomes)
        if a.usable
        else CaseSummary(a.incident.reference, a.profile, shareable=False)
        for a in assessments
    ]


def _linked_actions(
    assessment: Assessment, rows: Sequence[tuple[AdvocacyAction, uuid.UUID]]
) -> list[AdvocacyAction]:
    """The actions linked to a counted report of the case, once each, in the rows' order."""
    counted = {r.id for r in assessment.usable}
    found = {action.id: action for action, report_id in rows if report_id in counted}
    return list(found.values())


def _summary(
    assessment: Assessment,
    official: Sequence[StateResponse],
    actions: Sequence[AdvocacyAction],
    outcomes: dict[uuid.UUID, list[Outcome]],
) -> CaseSummary:
    incident = assessment.incident
    values = visible_values(incident, PUBLIC)
    sources = {r.source_id: r.source for r in assessment.usable if r.source is not None}
    kinds: dict[SourceKind, int] = {}
    grades: dict[SourceReliability, int] = {}
    for source in sources.values():
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
        grades[source.reliability] = grades.get(source.reliability, 0) + 1
    return CaseSummary(
        reference=values["reference"],
        profile=assessment.profile,
        shareable=True,
        withheld=assessment.withheld,
        violation_types=tuple(incident.violation_types),
        country=values["country"],
        region=values["region"],
        month=incident.start_month_year,
        estimated_victims=values["estimated_victims"],
        reports=len(assessment.usable),
        independent_sources=len(sources),
        sources_by_kind=tuple(
            KindCount(kind, n)
            for kind, n in sorted(
                kinds.items(), key=lambda kv: (-kv[1], list(SourceKind).index(kv[0]))
            )
        ),
        reliability_mix=tuple(
            ReliabilityCount(grade, grades[grade]) for grade in SourceReliability if grade in grades
        ),
        official_responses=tuple(_official(r) for r in official),
        actions=_actions(actions, outcomes),
    )


def audit_detail(profile: Profile, fmt: str, summaries: list[CaseSummary]) -> dict[str, Any]:
    """What an audit event says of summaries shown or exported: counts, no reference."""
    return {
        "profile": profile.value,
        "format": fmt,
        "summaries": sum(1 for s in summaries if s.shareable),
        "reports": sum(s.reports for s in summaries),
        "reports_not_counted": sum(s.withheld for s in summaries),
    }


# -- helpers -----------------------------------------------------------------------------


def _session_of(record: Any) -> Session:
    session = object_session(record)
    if session is None:
        raise ValueError(f"{type(record).__name__} {record.id} is not in a session")
    return session


def _official(response: StateResponse) -> OfficialResponse:
    values = visible_values(response, PUBLIC)
    return OfficialResponse(
        values["kind"], values["date"], values["date_precision"], values["authority"]
    )


def _outcomes(
    session: Session, actions: Sequence[AdvocacyAction]
) -> dict[uuid.UUID, list[Outcome]]:
    """The responses each action received, oldest first — one statement for all."""
    responses: dict[uuid.UUID, list[Outcome]] = {}
    ids = list(dict.fromkeys(a.id for a in actions))
    for response in summary_queries.responses_to(session, ids):
        values = visible_values(response, PUBLIC)
        responses.setdefault(response.action_id, []).append(Outcome(values["kind"], values["date"]))
    return responses


def _actions(
    actions: Sequence[AdvocacyAction], outcomes: dict[uuid.UUID, list[Outcome]]
) -> tuple[ActionSummary, ...]:
    summaries = []
    for action in actions:
        values = visible_values(action, PUBLIC)
        shown = {name: values[name] for name in ACTION_FIELDS}
        summaries.append(ActionSummary(**shown, responses=tuple(outcomes.get(action.id, ()))))
    return tuple(summaries)


def _at_precision(value: date | None, precision: DatePrecision) -> str | None:
    if value is None or precision is DatePrecision.UNKNOWN:
        return None
    if precision is DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision is DatePrecision.MONTH:
        return f"{value:%Y-%m}"
    return value.isoformat()
