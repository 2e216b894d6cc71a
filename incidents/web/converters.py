"""URL converters for references, made from the record registry: `<incident:reference>`
matches INC-2017-0001 and nothing else, `<erasable:reference>` any erasable kind's. A
path with anything else in that place is no page at all (404), before any view runs."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from incidents.records.kind import RecordKind
from incidents.records.kinds import referenced_kinds


def _converter(name: str, kinds: list[RecordKind]) -> type[BaseConverter]:
    patterns = [kind.reference_pattern for kind in kinds if kind.reference_pattern]
    return type(
        f"{name.title()}Reference", (BaseConverter,), {"regex": f"(?:{'|'.join(patterns)})"}
    )


def install(app: Flask) -> None:
    for kind in referenced_kinds():
        app.url_map.converters[kind.name] = _converter(kind.name, [kind])
    app.url_map.converters["erasable"] = _converter("erasable", referenced_kinds(erasable=True))
