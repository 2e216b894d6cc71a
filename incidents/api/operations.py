"""API operations: a view, the schemas that validate what it takes and shape what it
answers, and what the OpenAPI document says of it — declared once, with `operation`.

    @operation("GET", "/incidents/<key>", name="get_incident", summary="An incident",
               scope="cases:read", tag="Incidents", response=IncidentDocument, etag=True)
    def get_incident(ctx: Context, key: str) -> dict[str, Any]: ...

The decorator registers the view on the blueprint, builds the request's call context
(the token's user, incidents/web/boundary.py), validates the JSON body and the query
string with their pydantic models (a refusal is a 422 problem naming each field), reads
`If-Match` for changes made under the optimistic lock, and passes the answer through
the response model — so that a response can never carry a field its schema lacks. The
scope is only recorded, for the document: the permissions layer checks it, in the
services, like every other permission (incidents/permissions.py `held_permissions`).
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
from flask import Response, request
from pydantic import BaseModel, TypeAdapter
from werkzeug.wrappers import Response as BaseResponse

from incidents.api import auth
from incidents.api.blueprint import PREFIX, api, token_checked
from incidents.api.problems import ApiProblem
from incidents.api.validation import field_problems, is_invalid_json
from incidents.web.boundary import context

JSON = "application/json"
_PATH_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_IF_MATCH = re.compile(r'"(\d{1,9})"|(\d{1,9})')
_CHANGES = frozenset({"PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class ApiResult:
    """An answer with a status or headers of its own (201 with a Location, say)."""

    body: Any = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One operation, as the OpenAPI document and the reference page describe it."""

    method: str
    rule: str  # Flask's, below the prefix: /incidents/<key>
    name: str  # the endpoint, below the blueprint: get_incident
    summary: str
    scope: str
    tag: str
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a pydantic model (or a type TypeAdapter takes), None: no body
    status: int = 200
    etag: bool = False
    binary: str | None = None  # the media type of a file answered as it is
    errors: tuple[int, ...] = ()  # statuses it answers besides those every operation may
    # If-Match is read for PATCH/PUT/DELETE with `etag`; True also for a POST that changes
    # a record under its lock (a consent's withdrawal), False for none.
    if_match: bool | None = None
    # A multipart/form-data body (an upload), read by the view itself: described only.
    form: type[BaseModel] | None = None

    @property
    def path(self) -> str:
        """The path as OpenAPI writes it: /api/v1/incidents/{key}."""
        return PREFIX + _PATH_ARGUMENT.sub(r"{\1}", self.rule)

    @property
    def path_arguments(self) -> tuple[str, ...]:
        return tuple(_PATH_ARGUMENT.findall(self.rule))

    @property
    def needs_if_match(self) -> bool:
        if self.if_match is not None:
            return self.if_match
        return self.etag and self.method in _CHANGES

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Every error status the operation may answer with (each a Problem)."""
        # 503: the database is down or busy, whatever the operation; 507: no room left
        # for what a request with a body would write.
        statuses = {401, 403, 429, 500, 503, *self.errors}
        if self.path_arguments:
            statuses.add(404)
        if self.body is not None or self.form is not None:
            statuses |= {400, 413, 415, 422, 507}
        if self.query is not None:
            statuses.add(422)
        if self.needs_if_match:
            statuses |= {400, 409, 428}
        return tuple(sorted(statuses))


OPERATIONS: list[Operation] = []

View = Callable[..., Any]


def operation(
    method: str,
    rule: str,
    *,
    name: str,
    summary: str,
    scope: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    etag: bool = False,
    binary: str | None = None,
    errors: tuple[int, ...] = (),
    if_match: bool | None = None,
    form: type[BaseModel] | None = None,
) -> Callable[[View], View]:
    """Register `view` as an API operation (see the module's docstring)."""

    def register(view: View) -> View:
        described = Operation(
            method=method.upper(),
            rule=rule,
            name=name,
            summary=summary,
            scope=scope,
            tag=tag,
            description=(view.__doc__ or "").strip(),
            body=body,
            query=query,
            response=response,
            status=status,
            etag=etag,
            binary=binary,
            errors=errors,
            if_match=if_match,
            form=form,
        )
        adapter = TypeAdapter(response) if response is not None else None

        @functools.wraps(view)
        def endpoint(**path_arguments: Any) -> BaseResponse:
            arguments: dict[str, Any] = dict(path_arguments)
            if body is not None:
                arguments["body"] = _body(body)
            if query is not None:
                arguments["query"] = _query(query)
            if described.needs_if_match:
                arguments["if_match"] = _if_match()
            return _respond(described, adapter, view(context(), **arguments))

        api.add_url_rule(
            rule, endpoint=name, view_func=token_checked(auth.api_limit(endpoint)), methods=[method]
        )
        OPERATIONS.append(described)
        return view

    return register


def _body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiProblem(415)
    data = request.get_data(cache=False)
    try:
        return model.model_validate_json(data)
    except pydantic.ValidationError as error:
        if is_invalid_json(error):
            raise ApiProblem(
                400, "The body is not valid JSON. Send one JSON object.", slug="invalid-input"
            ) from None
        raise ApiProblem(422, slug="invalid-input", errors=field_problems(error, "body")) from None


def _query(model: type[BaseModel]) -> BaseModel:
    lists = {name for name, spec in model.model_fields.items() if _is_list(spec.annotation)}
    values: dict[str, Any] = {}
    for name in request.args:
        values[name] = request.args.getlist(name) if name in lists else request.args.get(name)
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as error:
        raise ApiProblem(422, slug="invalid-input", errors=field_problems(error, "query")) from None


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def _if_match() -> int:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        raise ApiProblem(428, slug="if-match-required")
    found = _IF_MATCH.fullmatch(raw)
    if found is None:  # a weak tag, "*" or a list: none names the one version edited
        raise ApiProblem(400, 'Send If-Match with the one ETag you read, e.g. If-Match: "3".')
    return int(found.group(1) or found.group(2))


def _respond(op: Operation, adapter: TypeAdapter[Any] | None, result: Any) -> BaseResponse:
    if isinstance(result, BaseResponse):  # a file (any WSGI response), answered as it is
        return result
    answer = result if isinstance(result, ApiResult) else ApiResult(result)
    status = answer.status or op.status
    if adapter is None or answer.body is None:
        response = Response(status=status)
    else:
        shaped = adapter.validate_python(answer.body)
        payload = adapter.dump_json(shaped, exclude_unset=True)
        response = Response(payload, status=status, mimetype=JSON)
        if op.etag:
            version = _lock_version(shaped)
            if version is not None:
                response.headers["ETag"] = f'"{version}"'
    response.headers.update(answer.headers)
    return response


def _lock_version(shaped: Any) -> int | None:
    value = getattr(shaped, "lock_version", None)
    if value is None and isinstance(shaped, Mapping):
        value = shaped.get("lock_version")
    return value if isinstance(value, int) else None
