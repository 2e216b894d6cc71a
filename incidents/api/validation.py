"""Pydantic's refusals as the project's messages: one full sentence per field, saying what
to do, in the same shape as the record validator's (incidents/records/fields.py)."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic_core import ErrorDetails

from incidents.api.problems import FieldProblem

# What to do, per pydantic error type; `{…}` are filled from the error's context.
_MESSAGES: dict[str, str] = {
    "missing": "Give this field; it is required.",
    "extra_forbidden": "This field does not exist here; remove it.",
    "string_type": "Enter text here.",
    "string_too_long": "Use at most {max_length} characters.",
    "string_too_short": "Use at least {min_length} characters.",
    "string_pattern_mismatch": "Use the form the schema gives ({pattern}).",
    "int_type": "Enter a whole number.",
    "int_parsing": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "greater_than_equal": "Enter a number of at least {ge}.",
    "less_than_equal": "Enter a number of at most {le}.",
    "bool_type": "Enter true or false.",
    "bool_parsing": "Enter true or false.",
    "list_type": "Send a list here.",
    "too_long": "Send at most {max_length} items.",
    "dict_type": "Send an object here.",
    "model_type": "Send an object here.",
    "model_attributes_type": "Send an object here.",
    "enum": "Choose one of: {expected}.",
    "literal_error": "Choose one of: {expected}.",
    "date_from_datetime_parsing": "Use a date like 2017-04-20.",
    "date_parsing": "Use a date like 2017-04-20.",
    "date_type": "Use a date like 2017-04-20.",
    "datetime_parsing": "Use a time like 2017-06-02T09:00:00+00:00.",
    "datetime_from_date_parsing": "Use a time like 2017-06-02T09:00:00+00:00.",
    "datetime_type": "Use a time like 2017-06-02T09:00:00+00:00.",
    "uuid_parsing": "Use an id like 0b5f4a1c-9d0e-4f6b-8a52-3c1d2e4f5a6b.",
    "uuid_type": "Use an id like 0b5f4a1c-9d0e-4f6b-8a52-3c1d2e4f5a6b.",
    "json_invalid": "Send valid JSON.",
    "json_type": "Send valid JSON.",
}


def field_problems(error: pydantic.ValidationError, where: str) -> list[FieldProblem]:
    """One problem per refused field; `where` names the whole ("body", "query") when the
    refusal is of the whole, not of one field."""
    problems: dict[str, str] = {}
    for detail in error.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in detail["loc"]) or where
        problems.setdefault(name, message(detail))
    return [FieldProblem(field=name, message=text) for name, text in problems.items()]


def message(detail: ErrorDetails) -> str:
    template = _MESSAGES.get(detail["type"])
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    if detail["type"] == "value_error" and "error" in context:  # one of the models' own
        return f"{str(context['error']).rstrip('.')}."
    if template is not None:
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    text = detail["msg"].rstrip(".")
    return f"{text[:1].upper()}{text[1:]}; correct this value."


def is_invalid_json(error: pydantic.ValidationError) -> bool:
    return any(detail["type"] == "json_invalid" for detail in error.errors())
