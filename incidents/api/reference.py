"""The API's reference page, read from its own OpenAPI document: each operation grouped
by tag, with its scope, parameters, body and answer, as tables a browser shows without
any script — the page works under the strict Content Security Policy, with no CDN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = "application/json"
FORM = "multipart/form-data"


@dataclass(frozen=True)
class Row:
    """One parameter or field: its name, what it takes, whether it must be given."""

    name: str
    kind: str
    required: bool
    description: str


@dataclass(frozen=True)
class OperationEntry:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    scope: str
    parameters: tuple[Row, ...]
    body: str | None  # the schema's name
    body_type: str  # its media type
    body_fields: tuple[Row, ...]
    answer_status: str
    answer: str | None
    answer_fields: tuple[Row, ...]
    errors: tuple[tuple[str, str], ...]  # (status, title)


@dataclass(frozen=True)
class TagSection:
    name: str
    anchor: str
    operations: tuple[OperationEntry, ...]


def describe(schema: dict[str, Any], components: dict[str, Any]) -> str:
    """What a schema takes, in a few words: "string, at most 300 characters", "one of …"."""
    if "$ref" in schema:
        return describe(_resolve(schema, components), components)
    options = schema.get("anyOf")
    if options:
        kinds = [describe(option, components) for option in options if option != {"type": "null"}]
        nullable = any(option == {"type": "null"} for option in options)
        return " or ".join(kinds) + (", or null" if nullable else "")
    if "enum" in schema:
        return "one of " + ", ".join(f"“{value}”" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        text = "list of " + describe(schema.get("items", {}), components)
        return text + (f", at most {schema['maxItems']}" if "maxItems" in schema else "")
    if kind == "object" and "title" in schema:
        return str(schema["title"])
    parts = [str(kind)]
    if "format" in schema:
        parts.append(str(schema["format"]))
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']:,} characters")
    if "minimum" in schema and "maximum" in schema:
        parts.append(f"from {schema['minimum']:,} to {schema['maximum']:,}")
    elif "minimum" in schema:
        parts.append(f"at least {schema['minimum']:,}")
    elif "maximum" in schema:
        parts.append(f"at most {schema['maximum']:,}")
    if "default" in schema and schema["default"] is not None:
        parts.append(f"default {schema['default']}")
    return ", ".join(parts)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[-1]
    found: dict[str, Any] = components[name]
    return found


def _name(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    return str(schema.get("title", "JSON"))


def _fields(schema: dict[str, Any] | None, components: dict[str, Any]) -> tuple[Row, ...]:
    if not schema:
        return ()
    if "$ref" in schema:
        schema = _resolve(schema, components)
    required = set(schema.get("required", []))
    return tuple(
        Row(name, describe(spec, components), name in required, spec.get("description", ""))
        for name, spec in schema.get("properties", {}).items()
    )


def _content_schema(part: dict[str, Any]) -> dict[str, Any] | None:
    content = part.get("content", {})
    for media_type in (JSON, FORM):
        if media_type in content:
            schema: dict[str, Any] = content[media_type]["schema"]
            return schema
    return None


def _entry(
    path: str, method: str, op: dict[str, Any], components: dict[str, Any]
) -> OperationEntry:
    body = _content_schema(op.get("requestBody", {}))
    statuses = sorted(op["responses"])
    success = next(s for s in statuses if s.startswith("2"))
    answer = _content_schema(op["responses"][success])
    scopes = [scope for requirement in op.get("security", []) for scope in requirement.values()]
    return OperationEntry(
        anchor=op["operationId"],
        method=method.upper(),
        path=path,
        summary=op.get("summary", ""),
        description=op.get("description", "").split("\n\nToken scope:")[0],
        scope=", ".join(s for group in scopes for s in group) or "none",
        parameters=tuple(
            Row(
                f"{p['name']} ({p['in']})",
                describe(p["schema"], components),
                bool(p.get("required")),
                p.get("description", ""),
            )
            for p in op.get("parameters", [])
        ),
        body=_name(body),
        body_type=next(iter(op.get("requestBody", {}).get("content", {JSON: None}))),
        body_fields=_fields(body, components),
        answer_status=success,
        answer=_name(answer),
        answer_fields=_fields(answer, components),
        errors=tuple(
            (s, op["responses"][s]["description"]) for s in statuses if not s.startswith("2")
        ),
    )


def sections(document: dict[str, Any]) -> list[TagSection]:
    """The document's operations under their tags, in the order the tags are declared."""
    components = document["components"]["schemas"]
    grouped: dict[str, list[OperationEntry]] = {tag["name"]: [] for tag in document["tags"]}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            grouped.setdefault(op["tags"][0], []).append(_entry(path, method, op, components))
    return [
        TagSection(name, "tag-" + name.lower().replace(" ", "-"), tuple(entries))
        for name, entries in grouped.items()
    ]
