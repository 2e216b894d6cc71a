"""The generic resources: for each kind of record below, a list, one record, a new one
and a change, driven by the record registry.

    GET    /api/v1/<plural>          a page of documents (never decrypted), with filters
    GET    /api/v1/<plural>/<key>    one document, by reference or id (secrets opened)
    POST   /api/v1/<plural>          a new record: 201, its document and Location
    PATCH  /api/v1/<plural>/<key>    a change, with If-Match: the ETag read

Kinds with more to them than the generic write — evidence files, consents given and
withdrawn, follow-ups, links to reports, the audit log — have modules of their own.
"""

from __future__ import annotations

import enum
import typing
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import Field, create_model

from incidents.api.answers import created, page_of
from incidents.api.operations import operation
from incidents.api.problems import ApiProblem, problem_response
from incidents.api.schemas import (
    MAX_KEY,
    Page,
    Request,
    create_model_of,
    document_model,
    model_name,
    update_model_of,
)
from incidents.context import Context
from incidents.permissions import SCOPE_PERMISSIONS, Permission
from incidents.records.fields import article
from incidents.records.kind import RecordKind
from incidents.records.kinds import (
    ACT,
    ACTION_RESPONSE,
    ADVOCACY_ACTION,
    CAMPAIGN,
    CONSENT,
    INCIDENT,
    INVOLVEMENT,
    ORGANISATION,
    PERSON,
    REPORT,
    SOURCE,
    STATE_RESPONSE,
)
from incidents.services import api_records, api_writes
from incidents.services.api_records import DEFAULT_PAGE, MAX_PAGE, PAGE_FILTERS, link_filters


@dataclass(frozen=True)
class Resource:
    kind: RecordKind
    plural: str  # the URL's name: /api/v1/state_responses
    tag: str  # the reference page's heading
    writable: bool = True  # False: written by a module of its own

    @property
    def read_scope(self) -> str:
        return scope_of(api_records.READ_PERMISSION[self.kind.name])

    @property
    def write_scope(self) -> str:
        return scope_of(self.kind.write_permission)


RESOURCES = (
    Resource(ORGANISATION, "organisations", "Organisations"),
    Resource(INCIDENT, "incidents", "Incidents"),
    Resource(SOURCE, "sources", "Sources"),
    Resource(REPORT, "reports", "Reports"),
    Resource(STATE_RESPONSE, "state_responses", "Official responses"),
    Resource(PERSON, "people", "People"),
    Resource(CONSENT, "consents", "Consents", writable=False),
    Resource(ACT, "acts", "Acts"),
    Resource(INVOLVEMENT, "involvements", "Perpetrators"),
    Resource(CAMPAIGN, "campaigns", "Campaigns"),
    Resource(ADVOCACY_ACTION, "advocacy_actions", "Advocacy actions"),
    Resource(ACTION_RESPONSE, "action_responses", "Responses to actions"),
)


def scope_of(permission: Permission) -> str:
    """The token scope that lets a token use `permission`."""
    for scope, allowed in SCOPE_PERMISSIONS.items():
        if permission in allowed:
            return scope.value
    raise LookupError(f"no scope allows {permission.value}")


def _parameter_type(python: Any) -> Any:
    """A list page's filter as a query parameter: the type its class reads."""
    kinds = [arg for arg in typing.get_args(python) if arg is not type(None)] or [python]
    value = kinds[0]
    if isinstance(value, type) and issubclass(value, enum.Enum):
        return value
    if value is int:
        return Annotated[int, Field(ge=0, le=999)]
    if value is date:
        return Annotated[str, Field(json_schema_extra={"format": "date"})]
    if value is uuid.UUID:
        return Annotated[str, Field(json_schema_extra={"format": "uuid"})]
    return Annotated[str, Field(max_length=100)]


def list_query_model(kind: RecordKind) -> type[Request]:
    """The query string of a list: the cursor and page size, the records it hangs off
    (by reference or id), and the filters of the kind's list page."""
    fields: dict[str, Any] = {
        "cursor": (
            Annotated[str, Field(max_length=MAX_KEY)] | None,
            Field(None, description="The `next` of the page before; none for the first."),
        ),
        "limit": (
            int,
            Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="How many records a page holds."),
        ),
    }
    for spec in link_filters(kind):
        fields[spec.name] = (
            Annotated[str, Field(max_length=MAX_KEY)] | None,
            Field(None, description=f"Only those of this {spec.label} (a reference or an id)."),
        )
    page_filters = PAGE_FILTERS.get(kind.name)
    if page_filters is not None:
        for name, python in page_filters.parameters(kind).items():
            if name not in fields:
                fields[name] = (_parameter_type(python) | None, Field(None))
    return create_model(f"{model_name(kind)}ListQuery", __base__=Request, **fields)


def _filters(query: Request) -> dict[str, str]:
    chosen = query.model_dump(mode="json", exclude_none=True, exclude={"cursor", "limit"})
    return {name: str(value) for name, value in chosen.items()}


def _possible_duplicates(references: list[str]) -> ApiProblem:
    named = ", ".join(references)
    return ApiProblem(
        409,
        f"Possibly the same person as {named}: look at them first. If this is someone "
        'else, send the same body again with "confirmed_different": true.',
        title="Possible duplicates",
        slug="possible-duplicates",
    )


def _register(resource: Resource) -> None:
    kind = resource.kind
    one = kind.name
    document = document_model(kind)
    query_model = list_query_model(kind)
    item_rule = f"/{resource.plural}/<key>"

    @operation(
        "GET",
        f"/{resource.plural}",
        name=f"list_{resource.plural}",
        summary=f"List {resource.tag.lower()}",
        scope=resource.read_scope,
        tag=resource.tag,
        query=query_model,
        response=Page[document],  # type: ignore[valid-type]
    )
    def list_records(ctx: Context, query: Any) -> dict[str, Any]:
        """A page of the records of your teams, in order of id; secret fields are named
        under `sealed` and never decrypted. Follow `next` for the next page."""
        return page_of(ctx, kind, _filters(query), query)

    @operation(
        "GET",
        item_rule,
        name=f"get_{one}",
        summary=f"Read one {kind.label}",
        scope=resource.read_scope,
        tag=resource.tag,
        response=document,
        etag=True,
        errors=(410,),
    )
    def get_record(ctx: Context, key: str) -> dict[str, Any]:
        """The record by reference or id. Its secret fields are decrypted if you may read
        them, and that is recorded in the audit log."""
        return api_records.get_document(ctx, kind, key)

    if not resource.writable:
        return

    @operation(
        "POST",
        f"/{resource.plural}",
        name=f"create_{one}",
        summary=f"Record a new {kind.label}",
        scope=resource.write_scope,
        tag=resource.tag,
        body=create_model_of(kind),
        response=document,
        status=201,
        etag=True,
        errors=(409,) if kind is PERSON else (),
    )
    def create_record(ctx: Context, body: Any) -> Any:
        """Saves a new record through the same checks as its page; answers with its
        document (secret fields sealed) and its URL in Location."""
        values = body.model_dump(mode="json", exclude_unset=True)
        team = values.pop("team", None)
        confirmed = bool(values.pop("confirmed_different", False))
        outcome = api_writes.create(ctx, kind, values, team, confirmed_different=confirmed)
        if outcome.record is None:  # committed all the same: the comparison is audited
            return problem_response(_possible_duplicates(outcome.duplicates))
        doc = api_records.document_of(ctx, kind, outcome.record, open_secrets=False)
        return created(doc, f"get_{one}", doc.get("reference") or doc["id"])

    @operation(
        "PATCH",
        item_rule,
        name=f"update_{one}",
        summary=f"Change {article(kind.label)}",
        scope=resource.write_scope,
        tag=resource.tag,
        body=update_model_of(kind),
        response=document,
        etag=True,
        errors=(410,),
    )
    def update_record(ctx: Context, key: str, body: Any, if_match: int) -> dict[str, Any]:
        """Changes the fields sent (null empties one), if the record is still at the
        version of If-Match; otherwise 409 with the stored version, and nothing saved."""
        changes = body.model_dump(mode="json", exclude_unset=True)
        updated = api_writes.update(ctx, kind, key, changes, if_match)
        return api_records.document_of(ctx, kind, updated.record, open_secrets=False)


for _resource in RESOURCES:
    _register(_resource)
