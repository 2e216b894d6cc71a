"""Related cases, found without decrypting the team's records: other incidents of the
same team whose perpetrators' units or names, or precise place, give the same blind-index
term as this incident's — within WINDOW of its dates — and, on a person's page, the
incidents of other people of the team recorded under the same name.

The page's own values are those it already shows (decrypted and audited by the page
itself). Their terms are looked up under every master key in one statement; the
candidates it finds are decrypted together (one query for their data keys, one
`secret.decrypt` event each, purpose "related cases") and folded again, so a collision
of the truncated index never becomes a suggestion. Only those who may read the team's
secret fields get a section at all: for anyone else it is None, not empty.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from incidents.context import Context
from incidents.models.incident import Incident
from incidents.models.person import Involvement, Person
from incidents.models.suggestion import SuggestionDismissal, SuggestionReason
from incidents.models.vocabularies import DatePrecision
from incidents.permissions import Permission, can
from incidents.records.indexing import IndexedField, index_terms
from incidents.records.kinds import INCIDENT, INVOLVEMENT, PERSON
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import records as record_queries
from incidents.repositories import related_cases as queries
from incidents.services import records
from incidents.services.decryption import decrypt_records
from incidents.services.incidents import IncidentView
from incidents.services.people import PersonView

# Incidents whose dates come within this many days of each other's are compared.
WINDOW = timedelta(days=30)
# Each page decrypts at most this many candidates (nearest in time first), and says so.
MAX_CANDIDATES = 50
MAX_ENTRIES = 1000  # entries read for one page's candidates
PURPOSE = {"purpose": "related cases"}

REASON_OF_INDEX = {
    "perpetrator_unit": SuggestionReason.SAME_UNIT,
    "perpetrator_name": SuggestionReason.SAME_PERPETRATOR_NAME,
    "incident_place": SuggestionReason.SAME_PLACE,
    "person_name": SuggestionReason.SAME_PERSON_NAME,
}
REASON_LABELS = {
    SuggestionReason.SAME_UNIT: "same unit",
    SuggestionReason.SAME_PERPETRATOR_NAME: "same perpetrator's name",
    SuggestionReason.SAME_PLACE: "same place",
    SuggestionReason.SAME_PERSON_NAME: "same person's name",
}
# Whole names only: one shared word (a common first name) is no reason.
_PERSON_NAMES = tuple(
    replace(f, token_index=None) for f in PERSON.indexed if f.whole_index == "person_name"
)


@dataclass(frozen=True)
class Shared:
    """One reason: the value of this page that the other record shares, as this page shows it."""

    reason: SuggestionReason
    value: str

    @property
    def label(self) -> str:
        return REASON_LABELS[self.reason]


@dataclass(frozen=True)
class Suggestion:
    reference: str  # the other incident, or the other person
    shared: tuple[Shared, ...]
    undated: bool = False  # one of the two incidents has no date: no window was applied
    incidents: tuple[str, ...] = ()  # on a person's page: the other person's incidents

    @property
    def reasons(self) -> tuple[SuggestionReason, ...]:
        return tuple(dict.fromkeys(s.reason for s in self.shared))


@dataclass(frozen=True)
class Dismissed:
    reference: str
    reason: SuggestionReason
    dismissed_at: datetime
    dismissed_by: str

    @property
    def label(self) -> str:
        return REASON_LABELS[self.reason]


@dataclass(frozen=True)
class RelatedSection:
    subject: str  # the reference of the page's record
    suggestions: tuple[Suggestion, ...]
    dismissed: tuple[Dismissed, ...]
    may_dismiss: bool
    more: bool  # more candidates than one page decrypts
    window_days: int = WINDOW.days


def _period_end(day: date, precision: DatePrecision | None) -> date:
    if precision is DatePrecision.YEAR:
        return date(day.year, 12, 31)
    if precision is DatePrecision.MONTH:
        return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return day


def _span(incident: Incident) -> tuple[date, date] | None:
    """The days an incident may cover, its dates' precision included; None undated."""
    if incident.start_date is None:
        return None
    if incident.end_date is not None:
        return incident.start_date, _period_end(incident.end_date, incident.end_precision)
    return incident.start_date, _period_end(incident.start_date, incident.start_precision)


def _within(one: tuple[date, date] | None, other: tuple[date, date] | None) -> bool:
    if one is None or other is None:
        return True
    return other[0] <= one[1] + WINDOW and other[1] >= one[0] - WINDOW


def _terms_of_lines(
    fields: Sequence[IndexedField], values: Mapping[str, str | None]
) -> dict[tuple[str, str], str]:
    """As _terms, each term shown as the one line (or item) of the value that gives it."""
    found: dict[tuple[str, str], str] = {}
    for spec in fields:
        for line in (values.get(spec.column) or "").replace(";", "\n").splitlines():
            for term in index_terms([spec], {spec.column: line}):
                found.setdefault(term, " ".join(line.split()))
    return found


def _lookups(ctx: Context, terms: Iterable[tuple[str, str]]) -> list[Any]:
    by_index: dict[str, set[str]] = {}
    for index_name, term in terms:
        by_index.setdefault(index_name, set()).add(term)
    return [ctx.indexer.lookup(name, wanted) for name, wanted in sorted(by_index.items())]


def _dismissed(
    ctx: Context, model: type[Any], record_id: uuid.UUID, rows: Sequence[SuggestionDismissal]
) -> tuple[Dismissed, ...]:
    others = {row.second_id if row.first_id == record_id else row.first_id for row in rows}
    erased = record_queries.erased_ids(ctx.session, model.__tablename__, others)
    known = {r.id: r.reference for r in record_queries.by_ids(ctx.session, model, others - erased)}
    return tuple(
        Dismissed(known[other], row.reason, row.dismissed_at, row.dismissed_by)
        for row in rows
        if (other := row.second_id if row.first_id == record_id else row.first_id) in known
    )


def _dismissed_pairs(rows: Sequence[SuggestionDismissal]) -> set[tuple[uuid.UUID, str]]:
    """(the other record's id, reason) of each dismissal, seen from either side."""
    return {(row.first_id, row.reason) for row in rows} | {
        (row.second_id, row.reason) for row in rows
    }


def _own_terms(view: IncidentView) -> dict[tuple[str, str], str]:
    """The terms of the place and the perpetrators the incident's page shows (decrypted,
    and audited, by the page itself)."""
    own = _terms_of_lines(INCIDENT.indexed, {"place_detail": view.place_detail})
    for act in view.acts:
        for involvement in act.involvements:
            values = {
                "units": involvement.units,
                "perpetrator_names": involvement.perpetrator_names,
            }
            for term, shown in _terms_of_lines(INVOLVEMENT.indexed, values).items():
                own.setdefault(term, shown)
    return own


def for_incident(ctx: Context, view: IncidentView) -> RelatedSection | None:
    """The related-cases section of an incident's page, for the team's researchers; None
    (no section) for everyone else and for a page that shows no secret."""
    if not view.shows_secrets:
        return None
    incident: Incident = records.find(ctx, INCIDENT, view.reference, Permission.FIELDS_SECRET)
    own = _own_terms(view)
    rows = queries.dismissals_of(ctx.session, INCIDENT.table, incident.id)
    dismissed = _dismissed_pairs(rows)
    span = _span(incident)
    window = None
    if span is not None:
        # Coarse in SQL (a year's precision at most on the other side), exact below.
        window = queries.Window(span[1] + WINDOW, span[0] - WINDOW - timedelta(days=366))
    hits = queries.incident_candidates(
        ctx.session, incident.team_id, incident.id, _lookups(ctx, own), window, MAX_ENTRIES
    )
    others = {
        r.id: r for r in record_queries.by_ids(ctx.session, Incident, {h.incident_id for h in hits})
    }
    hits = [
        h
        for h in hits
        if _within(span, _span(others[h.incident_id]))
        and (h.incident_id, REASON_OF_INDEX[h.index_name]) not in dismissed
    ]
    wanted = _nearest(hits, others, span)
    perpetrators = {
        r.id: r
        for r in record_queries.by_ids(
            ctx.session, Involvement, {h.record_id for h in wanted if h.record_table != "incidents"}
        )
    }
    candidates = [
        (others[h.record_id], ("place_detail",))
        if h.record_table == "incidents"
        else (perpetrators[h.record_id], ("units", "perpetrator_names"))
        for h in wanted
    ]
    opened = decrypt_records(ctx, candidates, PURPOSE) if candidates else []
    shared: dict[uuid.UUID, dict[SuggestionReason, str]] = {}
    for (record, _fields), plain, hit in zip(candidates, opened, wanted, strict=True):
        kind = INCIDENT if isinstance(record, Incident) else INVOLVEMENT
        for term in index_terms(kind.indexed, plain):
            reason = REASON_OF_INDEX[term[0]]
            if term in own and (hit.incident_id, reason) not in dismissed:
                shared.setdefault(hit.incident_id, {}).setdefault(reason, own[term])
    suggestions = sorted(
        (
            Suggestion(
                others[incident_id].reference,
                tuple(Shared(reason, value) for reason, value in reasons.items()),
                undated=span is None or _span(others[incident_id]) is None,
            )
            for incident_id, reasons in shared.items()
        ),
        key=lambda s: s.reference,
    )
    return RelatedSection(
        view.reference,
        tuple(suggestions),
        _dismissed(ctx, Incident, incident.id, rows),
        may_dismiss=can(ctx.principal, Permission.CASE_WRITE, incident),
        more=len({(h.record_table, h.record_id) for h in hits}) > len(wanted),
    )


def _nearest(
    hits: Sequence[queries.CandidateEntry],
    incidents: Mapping[uuid.UUID, Incident],
    span: tuple[date, date] | None,
) -> list[queries.CandidateEntry]:
    """One hit per record, of the MAX_CANDIDATES records whose incidents are nearest in
    time (undated ones last)."""
    first: dict[tuple[str, uuid.UUID], queries.CandidateEntry] = {}
    for hit in hits:
        first.setdefault((hit.record_table, hit.record_id), hit)

    def distance(hit: queries.CandidateEntry) -> tuple[int, str]:
        other = _span(incidents[hit.incident_id])
        reference = incidents[hit.incident_id].reference
        if other is None or span is None:
            return 10**6, reference
        return abs((other[0] - span[0]).days), reference

    return sorted(first.values(), key=distance)[:MAX_CANDIDATES]


def for_person(ctx: Context, view: PersonView) -> RelatedSection | None:
    """The incidents of other people of the team recorded under one of this person's
    names (in any spelling the index folds together), for the team's researchers."""
    if view.erasure is not None:
        return None
    person: Person = records.find(ctx, PERSON, view.reference, Permission.FIELDS_SECRET)
    own = _terms_of_lines(
        _PERSON_NAMES, {"full_name": view.full_name, "aliases": "\n".join(view.aliases)}
    )
    rows = queries.dismissals_of(ctx.session, PERSON.table, person.id)
    dismissed = _dismissed_pairs(rows)
    hits = index_queries.find(ctx.session, PERSON.table, {person.team_id}, _lookups(ctx, own))
    people = {h.record_id for h in hits} - {person.id}
    people = {p for p in people if (p, SuggestionReason.SAME_PERSON_NAME) not in dismissed}
    theirs: dict[uuid.UUID, set[uuid.UUID]] = {}
    for person_id, incident_id in queries.incidents_of_people(ctx.session, person.team_id, people):
        theirs.setdefault(person_id, set()).add(incident_id)
    mine = {act.incident_reference for act in view.acts}
    candidates = record_queries.by_ids(ctx.session, Person, sorted(theirs)[:MAX_CANDIDATES])
    incidents = {
        r.id: r.reference
        for r in record_queries.by_ids(
            ctx.session, Incident, {i for p in candidates for i in theirs[p.id]}
        )
    }
    wanted = [(p, ("full_name", "aliases")) for p in candidates]
    opened = decrypt_records(ctx, wanted, PURPOSE) if wanted else []
    suggestions = []
    for candidate, plain in zip(candidates, opened, strict=True):
        shared = {own[t] for t in index_terms(_PERSON_NAMES, plain) if t in own}
        references = sorted({incidents[i] for i in theirs[candidate.id]} - mine)
        if shared and references:
            suggestions.append(
                Suggestion(
                    candidate.reference,
                    tuple(Shared(SuggestionReason.SAME_PERSON_NAME, v) for v in sorted(shared)),
                    incidents=tuple(references),
                )
            )
    return RelatedSection(
        view.reference,
        tuple(suggestions),
        _dismissed(ctx, Person, person.id, rows),
        may_dismiss=can(ctx.principal, Permission.CASE_WRITE, person),
        more=len(theirs) > MAX_CANDIDATES,
    )
