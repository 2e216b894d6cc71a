"""The CSV layout of records: one file per kind, one row per record, one column per field.

The header is `id`, `reference` (kinds with references), `team` (team-scoped kinds), the
kind's input fields in the registry's order (a fuzzy date's precision right after it) —
the template an import is filled in from — and, in exports, what the application records
of itself (incidents/services/documents.py `recorded_columns`). A list is one cell:
choices and organisations separated by "; ", other names one per line. An empty cell is
no value, so an export leaves out the columns its profile withholds: an empty column
imported back would clear what it stands for.

A cell that a spreadsheet would run as a formula — one that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return — is written with a leading apostrophe (`neutralise`);
an import takes that one apostrophe off again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from incidents.db import FieldClass, field_class_of
from incidents.records.fields import FuzzyDate, Lines
from incidents.records.kind import RecordKind
from incidents.services.documents import (
    ID,
    REFERENCE,
    TEAM,
    document_key,
    field_class,
    input_names,
    recorded_columns,
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
LINES_SEPARATOR = "\n"


def neutralise(text: str) -> str:
    """`text` as a cell no spreadsheet runs: a leading apostrophe before a formula's
    first character ("=HYPERLINK(…)" becomes "'=HYPERLINK(…)"), anything else as it is."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def template_columns(kind: RecordKind) -> tuple[str, ...]:
    """The header of a CSV of `kind` to fill in: its keys, then its input fields."""
    columns = [ID]
    if kind.prefix is not None:
        columns.append(REFERENCE)
    if kind.team_scoped:
        columns.append(TEAM)
    return (*columns, *input_names(kind))


def export_columns(kind: RecordKind, classes: Collection[FieldClass]) -> tuple[str, ...]:
    """The header of an export of `kind` for a reader of `classes`: the template's columns
    and the recorded ones, without those whose field class is not in `classes`."""
    shown = _column_classes(kind)
    columns = (*template_columns(kind), *(document_key(c) for c in recorded_columns(kind)))
    return tuple(c for c in columns if shown.get(c) is None or shown[c] in classes)


def row(kind: RecordKind, doc: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The cells of `doc` under `columns`, each one neutralised."""
    lines = {spec.name for spec in kind.fields if isinstance(spec, Lines)}
    return [neutralise(cell(doc.get(column), lines=column in lines)) for column in columns]


def cell(value: Any, *, lines: bool = False) -> str:
    """One value as cell text: a list joined ("; ", or one per line for `lines`), None
    empty, anything else as its text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return (LINES_SEPARATOR if lines else LIST_SEPARATOR).join(cell(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _column_classes(kind: RecordKind) -> dict[str, FieldClass | None]:
    """The field class of each column that has one of its own (the keys have none: they
    are in every export)."""
    classes: dict[str, FieldClass | None] = {}
    for spec in kind.fields:
        classes[spec.name] = field_class(kind, spec)
        if isinstance(spec, FuzzyDate):
            classes[spec.precision_field] = classes[spec.name]
    for column in recorded_columns(kind):
        classes[document_key(column)] = field_class_of(kind.model.__table__.columns[column])
    return classes
