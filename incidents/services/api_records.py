"""Records as documents for the JSON API: a list of any kind (never decrypted) and one
record (its secrets opened for a reader who may, one audit event per record).

Each kind is read with the permission its pages ask (`READ_PERMISSION`), in the teams
the pages show (`permissions.readable_teams`), as the fields the reader may see
(`permissions.readable_field_classes`, incidents/services/documents.py); another team's
record is no record, and an erased one is named as such (`Erased`). Lists leave erased
records out, take the filters of the kind's list page, and may be narrowed to the
records that hang off another (`?incident=` for acts), page by page in order of id.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from incidents.context import Context
from incidents.db import FieldClass
from incidents.errors import Erased, NotFound, ValidationError
from incidents.permissions import Permission, ensure, readable_field_classes, readable_teams
from incidents.records.fields import Link, article
from incidents.records.inputs import parse_id
from incidents.records.kind import RecordKind
from incidents.records.kinds import (
    ACT,
    ACTION_LINK,
    ACTION_RESPONSE,
    ADVOCACY_ACTION,
    CAMPAIGN,
    CONSENT,
    EVIDENCE,
    FOLLOW_UP,
    INCIDENT,
    INVOLVEMENT,
    ORGANISATION,
    PERSON,
    REPORT,
    SOURCE,
    STATE_RESPONSE,
    kind_named,
)
from incidents.repositories import advocacy as advocacy_queries
from incidents.repositories import api_records as queries
from incidents.repositories import incidents as incident_queries
from incidents.repositories import records as record_queries
from incidents.repositories import reports as report_queries
from incidents.services import records
from incidents.services.advocacy import ActionFilters
from incidents.services.decryption import decrypt_records
from incidents.services.documents import document, field_class, load_names
from incidents.services.incident_filters import IncidentFilters
from incidents.services.reports import ReportFilters, SourceFilters
from incidents.vault import secret_field_names

MAX_PAGE = 200
DEFAULT_PAGE = 50

# The permission each kind's pages ask to read it (the list and the record's page):
# reports and sources are for those who read restricted fields, people for those who
# read secret ones, advocacy records for advocacy:read; acts, perpetrators and official
# responses are read on the incident's page.
READ_PERMISSION: dict[str, Permission] = {
    ORGANISATION.name: Permission.ADVOCACY_READ,
    INCIDENT.name: Permission.CASE_READ,
    SOURCE.name: Permission.FIELDS_RESTRICTED,
    REPORT.name: Permission.FIELDS_RESTRICTED,
    STATE_RESPONSE.name: Permission.CASE_READ,
    PERSON.name: Permission.FIELDS_SECRET,
    CONSENT.name: Permission.FIELDS_RESTRICTED,
    ACT.name: Permission.CASE_READ,
    INVOLVEMENT.name: Permission.CASE_READ,
    CAMPAIGN.name: Permission.ADVOCACY_READ,
    ADVOCACY_ACTION.name: Permission.ADVOCACY_READ,
    ACTION_RESPONSE.name: Permission.ADVOCACY_READ,
    # Read through the API's own resources for them (incidents/api/evidence.py,
    # advocacy.py): evidence is listed with its report to those who read restricted
    # fields; an action's follow-ups and links to whoever reads its advocacy work.
    EVIDENCE.name: Permission.FIELDS_RESTRICTED,
    FOLLOW_UP.name: Permission.ADVOCACY_READ,
    ACTION_LINK.name: Permission.ADVOCACY_READ,
}

# Links that are recorded rather than typed in, which a list may be narrowed by too: an
# evidence file hangs off the report it was received for.
RECORDED_LINKS: dict[str, tuple[Link, ...]] = {
    EVIDENCE.name: (Link("report", "report", kind=REPORT.name),),
}


@dataclass(frozen=True)
class PageFilters:
    """A list page's filters: read from the query string by the page's own class, and
    applied by the page's own query."""

    filter_class: type[Any]
    narrow: Callable[[Any, Any], Any]  # (statement, filters) → statement

    def parameters(self, kind: RecordKind) -> dict[str, Any]:
        """The query parameters and their types (a parent link is asked for apart, by
        id or reference, and the API orders by id alone)."""
        hints = typing.get_type_hints(self.filter_class)
        links = {spec.name for spec in kind.fields if isinstance(spec, Link)}
        return {
            f.name: hints[f.name]
            for f in dataclasses.fields(self.filter_class)
            if f.name not in links and f.name not in ("oldest_first", "sort")
        }


PAGE_FILTERS: dict[str, PageFilters] = {
    INCIDENT.name: PageFilters(
        IncidentFilters, lambda s, f: incident_queries.filtered_incidents(s, f.query())
    ),
    REPORT.name: PageFilters(ReportFilters, report_queries.filtered_reports),
    SOURCE.name: PageFilters(SourceFilters, report_queries.filtered_sources),
    ADVOCACY_ACTION.name: PageFilters(ActionFilters, advocacy_queries.filtered_actions),
}


@dataclass(frozen=True)
class DocumentPage:
    items: list[dict[str, Any]]
    next: str | None  # the cursor of the next page


def link_filters(kind: RecordKind) -> tuple[Link, ...]:
    """The links a list of `kind` may be narrowed by: the records it hangs off."""
    typed = tuple(spec for spec in kind.fields if isinstance(spec, Link))
    return typed + RECORDED_LINKS.get(kind.name, ())


def list_documents(
    ctx: Context,
    kind: RecordKind,
    filters: Mapping[str, str],
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> DocumentPage:
    """One page of the records of `kind` the reader may see, after `cursor` (the `next`
    of the page before); secret fields are named under `sealed`, never decrypted."""
    ensure(ctx.principal, READ_PERMISSION[kind.name])
    after = None
    if cursor:
        after = parse_id(cursor)
        if after is None:
            raise ValidationError.on("cursor", "Use the `next` value of the page before.")
    listing = queries.RecordListing(
        model=kind.model,
        teams=readable_teams(ctx.principal),
        team_through=_team_through(kind),
        shared=not kind.team_scoped and kind.team_from is None,
        narrowing=_narrowing(kind, filters),
        links=_links(ctx, kind, filters),
    )
    limit = min(max(limit, 1), MAX_PAGE)
    rows = queries.record_page(ctx.session, listing, after, limit + 1)
    shown = rows[:limit]
    classes = readable_field_classes(ctx.principal)
    names = load_names(ctx)
    items = [document(kind, record, classes, names) for record in shown]
    return DocumentPage(items, str(shown[-1].id) if len(rows) > limit and shown else None)


def _team_through(kind: RecordKind) -> queries.TeamThrough | None:
    if kind.team_from is None:
        return None
    parent = kind_named(_link(kind, kind.team_from).kind)
    assert parent.team_scoped, f"{kind.name}: the record it hangs off has a team of its own"
    return queries.TeamThrough(parent.model, f"{kind.team_from}_id")


def _link(kind: RecordKind, name: str) -> Link:
    spec = kind.field(name)
    assert isinstance(spec, Link)
    return spec


def _narrowing(kind: RecordKind, filters: Mapping[str, str]) -> queries.Narrowing | None:
    page_filters = PAGE_FILTERS.get(kind.name)
    if page_filters is None:
        return None
    wanted = page_filters.parameters(kind)
    parsed = page_filters.filter_class.from_query({k: v for k, v in filters.items() if k in wanted})
    return lambda statement: page_filters.narrow(statement, parsed)


def _links(ctx: Context, kind: RecordKind, filters: Mapping[str, str]) -> dict[str, uuid.UUID]:
    """The records named by `?incident=` and the like, each one the reader may see. A
    list is narrowed only by a link the reader may see in its documents: what an act's
    `?person=` kept would otherwise tell an advocacy lead the person it withholds."""
    found: dict[str, uuid.UUID] = {}
    errors: dict[str, str] = {}
    classes = readable_field_classes(ctx.principal)
    for spec in link_filters(kind):
        key = filters.get(spec.name)
        if not key:
            continue
        if field_class(kind, spec) not in classes:
            errors[spec.name] = (
                f"The {spec.label} of {article(kind.label)} is not shown to you, so a list "
                f"cannot be narrowed by it: leave {spec.name} out."
            )
            continue
        target = kind_named(spec.kind)
        try:
            record = records.find(ctx, target, key.strip(), Permission.CASE_READ)
        except NotFound:
            errors[spec.name] = f"There is no {target.label} {key} you can see; check it."
            continue
        found[f"{spec.name}_id"] = record.id
    if errors:
        raise ValidationError.of(errors)
    return found


def get_document(ctx: Context, kind: RecordKind, key: str) -> dict[str, Any]:
    """The record `key` (a reference or an id) as the reader may see it, its secret
    fields opened — and that recorded — if they may read them."""
    record = records.find(ctx, kind, key, READ_PERMISSION[kind.name])
    if record_queries.is_erased(ctx.session, kind.table, record.id):
        raise Erased(getattr(record, "reference", None) or str(record.id))
    return document_of(ctx, kind, record)


def document_of(
    ctx: Context, kind: RecordKind, record: Any, *, open_secrets: bool = True
) -> dict[str, Any]:
    """`record`, which the caller has found for the reader, as a document: secret fields
    opened (one audit event) when the reader may read them and `open_secrets` — a write
    answers with them sealed, since its caller has just sent them."""
    classes = readable_field_classes(ctx.principal)
    opened = None
    secret = secret_field_names(type(record))
    if open_secrets and FieldClass.SECRET in classes and secret:
        opened = decrypt_records(ctx, [(record, secret)], {"purpose": "api"})[0]
    return document(kind, record, classes, load_names(ctx), opened)
