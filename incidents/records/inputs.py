"""The one validator: what was entered for a record, checked field by field against its
kind's input fields (incidents/records/fields.py), into values ready for the model.

Forms, the command line, the demo file and the API send raw values keyed by field name,
which is the model attribute's name; `parse` collects one message per field that is
wrong, so a form can show every problem at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from incidents.errors import ValidationError
from incidents.records.fields import (
    FuzzyDate,
    InputField,
    Problem,
)


@dataclass(frozen=True)
class Parsed:
    """Clean input: plain attribute values and, apart, the secret ones to seal."""

    plain: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str | None] = field(default_factory=dict)
    given: tuple[str, ...] = ()  # the input fields that were given, in declaration order


CrossCheck = Callable[[Mapping[str, Any]], dict[str, str]]


def parse(
    fields: Sequence[InputField],
    raw: Mapping[str, object],
    *,
    partial: bool = False,
    check: CrossCheck | None = None,
    refuse_empty: frozenset[str] = frozenset(),
) -> Parsed:
    """Check `raw` against `fields`; ValidationError naming every field that is wrong.

    With `partial` (an edit), fields not given are left as they are; otherwise a
    required field that is missing is an error. A field given empty that writes one of
    the columns `refuse_empty` (an edit of a column that cannot be empty) is an error
    too. Fields the kind does not have are refused, so a misspelt name in an import never
    passes silently.
    """
    known = {f.name for f in fields} | {
        f.precision_field for f in fields if isinstance(f, FuzzyDate)
    }
    errors = {name: "This field does not exist here." for name in raw if name not in known}
    plain: dict[str, Any] = {}
    secrets: dict[str, str | None] = {}
    given = []
    for spec in fields:
        present = spec.name in raw or (isinstance(spec, FuzzyDate) and spec.precision_field in raw)
        if not present:
            if spec.required and not partial:
                errors[spec.name] = spec.missing()
            continue
        value: object = raw.get(spec.name)
        if isinstance(spec, FuzzyDate) and spec.precision_field in raw:
            value = (value, raw[spec.precision_field])
        try:
            parsed = spec.parse(value)
        except Problem as problem:
            errors[spec.name] = str(problem)
            continue
        columns = spec.split(parsed)
        if any(columns[c] is None for c in columns if c in refuse_empty):
            errors[spec.name] = spec.missing()
            continue
        given.append(spec.name)
        target = secrets if spec.secret else plain
        target.update(columns)
    if check is not None and not errors:
        errors.update(check({**plain, **secrets}))
    if errors:
        raise ValidationError.of(errors)
    return Parsed(plain, secrets, tuple(given))


def ends_after_starts(start: str, end: str, what: str = "end") -> CrossCheck:
    """A cross-field check: the end date is not before the start date."""

    def check(values: Mapping[str, Any]) -> dict[str, str]:
        began, ended = values.get(start), values.get(end)
        if isinstance(began, date) and isinstance(ended, date) and ended < began:
            return {end: f"The {what} cannot be before the start."}
        return {}

    return check


def parse_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
