"""The OpenAPI 3.1 document of the API, made from the operations as they are registered
(incidents/api/operations.py) and the pydantic models that validate their requests and
shape their answers — so the document cannot say one thing while the code does another.

Pydantic writes JSON Schema 2020-12, the dialect of OpenAPI 3.1: each model's schema goes
into `components/schemas` as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from incidents.api.operations import JSON, OPERATIONS, Operation
from incidents.api.problems import MEDIA_TYPE, PROBLEM_TYPES, STATUS_TEXT, Problem

REF = "#/components/schemas/{model}"
FORM = "multipart/form-data"
BEARER = "bearer"
DESCRIPTION = (
    "Incidents' records, through the same checks as the pages: your roles and teams, "
    "narrowed by your token's scopes. Send `Authorization: Bearer <token>` (make a token on "
    "your account page). Lists page by cursor: follow `next`. A record's ETag is its "
    "`lock_version`; a change sends it back in `If-Match`. Every error is a problem "
    "(RFC 9457, `application/problem+json`). The reference page is /api/v1/docs."
)


class Schemas:
    """The component schemas of the document, collected as operations name models."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
        self.adapted: dict[tuple[Any, str], dict[str, Any]] = {}
        for op in operations:
            models = (
                (op.body, "validation"),
                (op.form, "validation"),
                (op.response, "serialization"),
            )
            for model, mode in models:
                if _is_model(model):
                    wanted.append((model, mode))  # type: ignore[arg-type]
        refs, definitions = models_json_schema(wanted, ref_template=REF)
        self.refs: dict[tuple[Any, str], dict[str, Any]] = {
            (model, mode): schema for (model, mode), schema in refs.items()
        }
        self.components: dict[str, Any] = dict(definitions.get("$defs", {}))
        for op in operations:  # an answer that is not a model: a list, say
            if op.response is not None and not _is_model(op.response):
                schema = TypeAdapter(op.response).json_schema(
                    ref_template=REF, mode="serialization"
                )
                self.components.update(schema.pop("$defs", {}))
                self.adapted[(op.response, "serialization")] = schema

    def of(self, model: Any, mode: str) -> dict[str, Any]:
        return self.refs.get((model, mode)) or self.adapted[(model, mode)]


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": "A reference (such as INC-2017-0001) or an id.",
            "schema": {"type": "string", "minLength": 1},
        }
        for name in op.path_arguments
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        definitions = schema.get("$defs", {})
        required = set(schema.get("required", []))
        for name, spec in schema.get("properties", {}).items():
            spec = dict(spec)
            description = spec.pop("description", None)
            spec.pop("title", None)
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _not_null(_inline(spec, definitions)),
            }
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    if op.needs_if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": 'The ETag of the version read, e.g. "3".',
                "schema": {"type": "string", "pattern": r'^"?\d{1,9}"?$'},
            }
        )
    return parameters


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is given or not: never null, which a query string cannot say."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        merged = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
        return {**options[0], **merged}
    if schema.get("default", 0) is None:
        return {key: value for key, value in schema.items() if key != "default"}
    return schema


def _inline(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema with the vocabularies it names written out (a query
    model's own definitions are not components)."""
    if "$ref" in schema:
        return dict(definitions[schema["$ref"].rsplit("/", 1)[-1]])
    found = dict(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in found:
            found[key] = [_inline(item, definitions) for item in found[key]]
    if isinstance(found.get("items"), dict):
        found["items"] = _inline(found["items"], definitions)
    return found


def _success(op: Operation, schemas: Schemas) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": op.summary}
    if op.binary is not None:
        answer["content"] = {op.binary: {"schema": {"type": "string", "format": "binary"}}}
    elif op.response is not None:
        answer["content"] = {JSON: {"schema": schemas.of(op.response, "serialization")}}
    headers: dict[str, Any] = {}
    if op.etag:
        headers["ETag"] = {
            "description": "The record's lock_version, to send back in If-Match.",
            "schema": {"type": "string"},
        }
    if op.status == 201:
        headers["Location"] = {"description": "The new record's URL.", "schema": {"type": "string"}}
    if headers:
        answer["headers"] = headers
    return answer


def _operation(op: Operation, schemas: Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.status): _success(op, schemas)}
    problem = {MEDIA_TYPE: {"schema": schemas.of(Problem, "serialization")}}
    for status in op.error_statuses:
        title = STATUS_TEXT.get(status, ("Error", ""))[0]
        responses[str(status)] = {"description": title, "content": problem}
    described: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{BEARER: [op.scope]}],
        "parameters": _parameters(op),
        "responses": responses,
    }
    if op.description:
        described["description"] = f"{op.description}\n\nToken scope: `{op.scope}`."
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schemas.of(op.body, "validation")}},
        }
    elif op.form is not None:
        described["requestBody"] = {
            "required": True,
            "content": {FORM: {"schema": schemas.of(op.form, "validation")}},
        }
    return described


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document (built once: the operations are fixed when the app is made)."""
    operations = list(OPERATIONS)
    schemas = Schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    tags = list(dict.fromkeys(op.tag for op in operations))
    problem_types = "\n".join(
        f"- `/api/v1/problems/{slug}`: {meaning}" for slug, meaning in PROBLEM_TYPES.items()
    )
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Incidents API",
            "version": "1",
            "description": f"{DESCRIPTION}\n\nProblem types:\n\n{problem_types}",
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (inc_…), with its scopes.",
                }
            },
        },
        "security": [{BEARER: []}],
    }
