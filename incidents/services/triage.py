"""Triage: the queue of new reports of the user's teams, oldest first, and the three
decisions a researcher makes about each — looked at (triaged), linked to an incident, or
rejected with a reason — one report at a time or many at once.

Every decision is an edit through the record registry's generic `update`, so each report
changed is one audit event naming its changed fields, and each is made from the version
the researcher saw (the optimistic lock). Many at once is all or nothing: if one of the
reports cannot be changed, none is, and the message names the ones that could not.
The queue decrypts nothing.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from incidents.context import Context
from incidents.errors import EditConflict, NotFound, ValidationError
from incidents.models.report import Report
from incidents.models.vocabularies import Channel, ReportStatus, SourceKind, SourceReliability
from incidents.permissions import Permission, ensure, readable_teams
from incidents.records.fields import Problem
from incidents.records.kinds import INCIDENT, REPORT
from incidents.repositories import records as record_queries
from incidents.repositories import triage as triage_queries
from incidents.services import records

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_AT_ONCE = MAX_PAGE_SIZE  # a bulk decision covers at most one (large) page
# A cursor is the last row's date received and id: 2017-04-01.<32 hex digits>.
_CURSOR = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9a-f]{32})")
# Decisions are taken on reports nobody has decided about yet; a linked or rejected
# report is changed on its own page.
_UNDECIDED = frozenset({ReportStatus.NEW, ReportStatus.TRIAGED})


class Decision(enum.StrEnum):
    """What triage decides, named by the status it gives the report."""

    TRIAGED = ReportStatus.TRIAGED.value
    LINKED = ReportStatus.LINKED.value
    REJECTED = ReportStatus.REJECTED.value


@dataclass(frozen=True)
class QueueRow:
    """A new report as the queue shows it: restricted fields only, nothing decrypted."""

    reference: str
    title: str
    received_on: date
    channel: Channel
    source_kind: SourceKind | None  # None: no source recorded yet
    source_reliability: SourceReliability | None
    credibility: int
    lock_version: int

    @property
    def grade(self) -> str:
        """Source reliability beside the credibility of the information: "B2" ("–" for the
        reliability when no source is recorded yet), as the report pages show it."""
        reliability = self.source_reliability.value if self.source_reliability else "–"
        return f"{reliability}{self.credibility}"


@dataclass(frozen=True)
class QueuePage:
    reports: tuple[QueueRow, ...]
    next_after: str | None  # the cursor of the next page; None on the last


@dataclass(frozen=True)
class Target:
    """A report to decide about, as the researcher saw it (its reference and version)."""

    reference: str
    lock_version: int


@dataclass(frozen=True)
class Choice:
    """One decision, with what it needs: an incident to link to, a reason to reject."""

    decision: Decision
    incident: str | None = None
    reason: str | None = None


class NotAllDecided(ValidationError):
    """Several reports were to be changed and some could not be: nothing was saved.
    `problems` says, for each report that could not be changed, why (a sentence that
    names it)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        summary = f"Nothing was saved: {', '.join(self.problems)} could not be changed."
        named = [f"{reference}: {why}" for reference, why in self.problems.items()]
        super().__init__(" ".join([summary, *named]), {"reports": summary})


def queue(ctx: Context, after: str | None = None, limit: int = PAGE_SIZE) -> QueuePage:
    """One page of the new reports of the user's teams, oldest first (by date received,
    then id). `after` is the cursor of the page before; one that cannot be read gives
    the first page. One statement whatever the page size; nothing is decrypted."""
    ensure_triage_access(ctx)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = triage_queries.new_reports(
        ctx.session, readable_teams(ctx.principal), parse_cursor(after), limit + 1
    )
    shown = rows[:limit]
    reports = tuple(
        QueueRow(
            reference=row.reference,
            title=row.title,
            received_on=row.received_on,
            channel=row.channel,
            source_kind=row.source_kind,
            source_reliability=row.source_reliability,
            credibility=row.credibility,
            lock_version=row.lock_version,
        )
        for row in shown
    )
    more = len(rows) > limit
    return QueuePage(reports, _cursor(shown[-1]) if more and shown else None)


def ensure_triage_access(ctx: Context) -> None:
    """Triage is for those who edit reports and read their restricted fields: researchers."""
    ensure(ctx.principal, Permission.CASE_WRITE)
    ensure(ctx.principal, Permission.FIELDS_RESTRICTED)


def parse_cursor(text: str | None) -> tuple[date, uuid.UUID] | None:
    """The (date received, id) a cursor names; None — the first page — for anything else."""
    if not text or len(text) > 64:
        return None
    match = _CURSOR.fullmatch(text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match[1]), uuid.UUID(hex=match[2])
    except ValueError:  # a day that does not exist (2017-02-30)
        return None


def _cursor(row: Any) -> str:
    return f"{row.received_on.isoformat()}.{row.id.hex}"


# -- one report -----------------------------------------------------------------------------


def mark_triaged(ctx: Context, reference: str, *, lock_version: int) -> Report:
    """The report was looked at; it is neither linked nor rejected yet."""
    return _decide(ctx, Target(reference, lock_version), {"status": ReportStatus.TRIAGED.value})


def link_to_incident(
    ctx: Context, reference: str, incident_reference: str, *, lock_version: int
) -> Report:
    """The report corroborates the incident `incident_reference` of its team; an
    incident of another team is no such incident."""
    incident = _incident_given(incident_reference)
    return _decide(
        ctx,
        Target(reference, lock_version),
        {"incident": incident, "status": ReportStatus.LINKED.value},
    )


def reject(ctx: Context, reference: str, reason: str, *, lock_version: int) -> Report:
    """The report is rejected, and keeps why; a rejected report corroborates nothing, so
    a link to an incident goes."""
    return _decide(
        ctx,
        Target(reference, lock_version),
        {
            "rejection_reason": _reason_given(reason),
            "incident": "",
            "status": ReportStatus.REJECTED.value,
        },
    )


def decide(ctx: Context, target: Target, choice: Choice) -> Report:
    """Apply `choice` to one report named in a form: a report that is not there, or not
    in the user's teams, is a refusal like any other (the same one for both)."""
    try:
        return _ACTIONS[choice.decision](ctx, target, choice)
    except NotFound:
        raise ValidationError.on("report", _no_report(target.reference)) from None


def _decide(ctx: Context, target: Target, raw: Mapping[str, object]) -> Report:
    ensure_triage_access(ctx)
    # Only a well-formed reference reaches the database (no NUL byte, no megabyte).
    if not re.fullmatch(REPORT.reference_pattern or "", target.reference):
        raise NotFound(_no_report(target.reference))
    report: Report = records.find(ctx, REPORT, target.reference, Permission.CASE_WRITE)
    if report.status not in _UNDECIDED and report.lock_version == target.lock_version:
        raise ValidationError.on(
            "report",
            f"{report.reference} is already {report.status.value}; change it on its own page.",
        )
    try:
        updated = records.update(ctx, REPORT, report.id, raw, lock_version=target.lock_version)
    except EditConflict:
        raise ValidationError.on(
            "report",
            f"{report.reference} was changed by someone else after the queue was shown; "
            "nothing was saved. Look at it again.",
        ) from None
    except ValidationError as error:
        if error.errors:  # about a field (the incident): shown beside it
            raise
        raise ValidationError.on("report", str(error)) from None  # about the report (erased)
    record: Report = updated.record
    return record


def _no_report(reference: str) -> str:
    return f"There is no report {reference[:40]} in your teams."


_ACTIONS: dict[Decision, Callable[[Context, Target, Choice], Report]] = {
    Decision.TRIAGED: lambda ctx, t, c: mark_triaged(ctx, t.reference, lock_version=t.lock_version),
    Decision.LINKED: lambda ctx, t, c: link_to_incident(
        ctx, t.reference, c.incident or "", lock_version=t.lock_version
    ),
    Decision.REJECTED: lambda ctx, t, c: reject(
        ctx, t.reference, c.reason or "", lock_version=t.lock_version
    ),
}


def _incident_given(text: str) -> str:
    try:
        link = REPORT.field("incident").parse(text)
    except Problem as problem:
        raise ValidationError.on("incident", str(problem)) from None
    if link is None:
        raise ValidationError.on(
            "incident", "Enter the reference of the incident, e.g. INC-2017-0001."
        )
    key: str = link.key
    return key


def _reason_given(text: str) -> str:
    try:
        reason = REPORT.field("rejection_reason").parse(text)
    except Problem as problem:
        raise ValidationError.on("rejection_reason", str(problem)) from None
    if reason is None:
        raise ValidationError.on("rejection_reason", "Give the reason for rejecting it.")
    given: str = reason
    return given


# -- many reports at once -------------------------------------------------------------------


def decide_many(ctx: Context, targets: Sequence[Target], choice: Choice) -> tuple[Report, ...]:
    """Apply `choice` to every report of `targets`, all or nothing.

    Each report changed is its own audit event. If any report cannot be changed — edited
    since the queue was shown, erased, of another team or none, decided already — nothing
    is saved, and NotAllDecided names each one and why.
    """
    ensure_triage_access(ctx)
    unique: dict[str, Target] = {}
    for target in targets:  # a reference sent twice is decided once, as first sent
        unique.setdefault(target.reference, target)
    if not unique:
        raise ValidationError.on("reports", "Choose at least one report.")
    if len(unique) > MAX_AT_ONCE:
        raise ValidationError.on("reports", f"Choose at most {MAX_AT_ONCE} reports at once.")
    _check_choice(ctx, choice)
    decided: list[Report] = []
    problems: dict[str, str] = {}
    # One savepoint for all: raising inside it undoes every report already changed.
    with ctx.session.begin_nested():
        for target in unique.values():
            try:
                with ctx.session.begin_nested():  # a failed write leaves the others usable
                    decided.append(_ACTIONS[choice.decision](ctx, target, choice))
            except NotFound:
                problems[target.reference[:40]] = _no_report(target.reference)
            except ValidationError as error:
                problems[target.reference] = _one_line(error)
        if problems:
            raise NotAllDecided(problems)
    return tuple(decided)


def _check_choice(ctx: Context, choice: Choice) -> None:
    """What the decision needs, checked once for all the reports, beside its field."""
    if choice.decision is Decision.REJECTED:
        _reason_given(choice.reason or "")
    if choice.decision is Decision.LINKED:
        key = _incident_given(choice.incident or "")
        try:
            incident = records.find(ctx, INCIDENT, key, Permission.CASE_WRITE)
        except NotFound:
            raise ValidationError.on(
                "incident", f"There is no incident {key} in your teams; check the reference."
            ) from None
        if record_queries.is_erased(ctx.session, INCIDENT.table, incident.id):
            raise ValidationError.on("incident", f"{key} was erased; link another incident.")


def _one_line(error: ValidationError) -> str:
    """A refusal about one report, without the field names a form would show it beside."""
    if error.errors:
        return " ".join(dict.fromkeys(error.errors.values()))
    return str(error)
