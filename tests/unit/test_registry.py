"""The record registry against the models it describes: every input field writes a
column that exists and fits, references have one shape, the order of kinds is the order
of their foreign keys, and every message the one validator gives is a sentence."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import String

from incidents.db import FieldClass, field_class_of
from incidents.errors import NotFound, ValidationError
from incidents.models.vocabularies import DatePrecision, ViolationType
from incidents.records.fields import Choice, Choices, FuzzyDate, LinkList, Problem, Secret, Text
from incidents.records.inputs import parse
from incidents.records.kinds import (
    INCIDENT,
    KINDS,
    PERSON,
    REPORT,
    kind_of_reference,
    referenced_kinds,
)

EDITABLE = [kind for kind in KINDS if kind.fields]
SENTENCE = re.compile(r"^[A-Z].*[.]$")


def _columns(kind: Any) -> dict[str, Any]:
    return dict(kind.model.__table__.columns.items())


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_every_input_field_writes_a_column_or_relationship_of_its_model(kind: Any) -> None:
    columns = _columns(kind)
    for spec in kind.fields:
        for name in spec.columns():
            assert name in columns or hasattr(kind.model, name), f"{kind.name}.{name}"


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_secret_fields_are_exactly_the_secret_columns(kind: Any) -> None:
    columns = _columns(kind)
    sealed = {c for spec in kind.fields if spec.secret for c in spec.columns()}
    secret_columns = {n for n, c in columns.items() if field_class_of(c) is FieldClass.SECRET}
    assert sealed == secret_columns, "a secret column without its field is never editable"
    assert all(isinstance(spec, Secret) for spec in kind.fields if spec.secret)


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_text_limits_fit_their_columns(kind: Any) -> None:
    columns = _columns(kind)
    for spec in kind.fields:
        column = columns.get(spec.name)
        length = getattr(getattr(column, "type", None), "length", None)
        if (
            isinstance(spec, Text)
            and isinstance(column.type if column is not None else None, String)
            and length
        ):
            assert spec.max_length <= length, f"{kind.name}.{spec.name}"


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_every_editable_kind_has_an_optimistic_lock(kind: Any) -> None:
    assert "lock_version" in _columns(kind), f"{kind.name} can be edited without a lock"


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_a_kind_with_a_list_field_has_a_row_to_write_when_only_the_list_changes(
    kind: Any,
) -> None:
    """The lock moves on with the row: a change of related rows alone writes updated_at."""
    if any(isinstance(spec, Choices | LinkList) for spec in kind.fields):
        assert "updated_at" in _columns(kind), kind.name


def test_kinds_come_after_the_kinds_they_refer_to() -> None:
    position = {kind.table: index for index, kind in enumerate(KINDS)}
    for kind in KINDS:
        for column in kind.model.__table__.columns:
            for key in column.foreign_keys:
                target = key.column.table.name
                if target in position and target != kind.table:
                    assert position[target] < position[kind.table], f"{kind.name}.{column.name}"


def test_references_have_one_shape_per_kind() -> None:
    assert INCIDENT.reference_pattern == r"INC-\d{4}-\d{4,}"
    assert PERSON.reference_pattern == r"PER-\d{4,}"
    assert kind_of_reference("RPT-2017-0003") is REPORT
    assert kind_of_reference("PER-0042", erasable=True) is PERSON
    for wrong in ("INC-0001", "PER-2017-0001", "XYZ-2017-0001", "INC-2017-1", "inc-2017-0001"):
        with pytest.raises(NotFound):
            kind_of_reference(wrong)
    with pytest.raises(NotFound):
        kind_of_reference("ACT-2017-0001", erasable=True)
    prefixes = [kind.prefix for kind in referenced_kinds()]
    assert len(prefixes) == len(set(prefixes))


def test_fuzzy_dates_keep_their_precision() -> None:
    spec = INCIDENT.field("start_date")
    assert isinstance(spec, FuzzyDate)
    assert spec.parse("2017") == (date(2017, 1, 1), DatePrecision.YEAR)
    assert spec.parse("2017-04") == (date(2017, 4, 1), DatePrecision.MONTH)
    assert spec.parse(" 2017-4-20 ") == (date(2017, 4, 20), DatePrecision.DAY)
    assert spec.parse(("2017-04-20", "month")) == (date(2017, 4, 20), DatePrecision.MONTH)
    assert spec.parse("") == (None, DatePrecision.UNKNOWN)


def test_what_was_entered_becomes_typed_values_and_secrets_apart() -> None:
    parsed = parse(
        INCIDENT.fields,
        {
            "title": "  A title  ",
            "narrative": "A narrative.",
            "violation_types": ["torture_or_ill_treatment", "killing", "killing"],
            "start_date": "2017-04",
            "estimated_victims": "1,200",
            "country": "ru",
        },
    )
    assert parsed.plain["title"] == "A title"
    assert parsed.plain["violation_types"] == [ViolationType.TORTURE, ViolationType.KILLING]
    assert parsed.plain["start_precision"] is DatePrecision.MONTH
    assert parsed.plain["estimated_victims"] == 1200
    assert parsed.plain["country"] == "RU"
    assert parsed.secrets == {"narrative": "A narrative."}
    assert "narrative" not in parsed.plain


BAD_INCIDENT = {
    "title": "",
    "summary": "x" * 20_001,
    "violation_types": ["no such violation"],
    "country": "Russia",
    "start_date": "17 April",
    "status": "solved",
    "estimated_victims": "-3",
    "unknown": "?",
}


def test_every_wrong_field_is_named_at_once_in_a_sentence_that_says_what_to_do() -> None:
    with pytest.raises(ValidationError) as refused:
        parse(INCIDENT.fields, BAD_INCIDENT)
    errors = refused.value.errors
    assert set(errors) == set(BAD_INCIDENT)
    for name, message in errors.items():
        assert SENTENCE.match(message), f"{name}: {message!r}"
    assert errors["title"] == "Enter a title."
    assert errors["unknown"] == "This field does not exist here."


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        parse(
            INCIDENT.fields,
            {"title": "t", "start_date": "2017-05", "end_date": "2017-04"},
            check=INCIDENT.check,
        )
    assert refused.value.errors == {"end_date": "The end cannot be before the start."}


@pytest.mark.parametrize("kind", EDITABLE, ids=lambda k: k.name)
def test_a_required_field_left_out_is_named(kind: Any) -> None:
    required = {spec.name for spec in kind.fields if spec.required}
    if not required:
        parse(kind.fields, {}, check=None)
        return
    with pytest.raises(ValidationError) as refused:
        parse(kind.fields, {})
    assert set(refused.value.errors) == required
    assert all(SENTENCE.match(m) for m in refused.value.errors.values())


def test_a_choice_accepts_its_vocabulary_only() -> None:
    spec = INCIDENT.field("status")
    assert isinstance(spec, Choice)
    assert spec.parse("verified").value == "verified"
    with pytest.raises(ValidationError):
        parse([spec], {"status": "Verified"})


def test_a_precision_says_no_more_than_its_date_shows() -> None:
    spec = INCIDENT.field("start_date")
    with pytest.raises(Problem, match="known only to the year"):
        spec.parse(("2017", "day"))
    with pytest.raises(Problem, match="Give the date as well"):
        spec.parse((None, "year"))  # a precision alone would wipe the stored date
    with pytest.raises(Problem):
        spec.parse(("2017", "year", "extra"))  # type: ignore[arg-type]
    assert spec.parse(("2017-04-20", "")) == (date(2017, 4, 20), DatePrecision.DAY)


@pytest.mark.parametrize(
    "typed", ["a\x00b", "line\x1b[31mred", "bell\x07"], ids=["NUL", "escape", "bell"]
)
def test_control_characters_are_refused_before_any_database_sees_them(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse(INCIDENT.fields, {"title": typed, "narrative": typed})
    assert refused.value.errors == {
        "title": "Remove the control characters.",
        "narrative": "Remove the control characters.",
    }
    kept = parse(INCIDENT.fields, {"title": "t", "narrative": "One line.\n\tAnother."})
    assert kept.secrets["narrative"] == "One line.\n\tAnother."


def test_other_names_come_as_lines_or_as_a_list() -> None:
    as_text = parse(PERSON.fields, {"full_name": "A", "aliases": "B\n\nC\nB"}).secrets
    as_list = parse(PERSON.fields, {"full_name": "A", "aliases": ["B", "", "C", "B"]}).secrets
    assert as_text["aliases"] == as_list["aliases"] == "B\nC"


def test_calendar_dates_have_one_shape() -> None:
    spec = REPORT.field("received_on")
    assert spec.parse("2017-04-20") == date(2017, 4, 20)
    for wrong in ("20170420", "2017-W16-4", "2017-4-20", "1066-10-14"):
        with pytest.raises(Problem):
            spec.parse(wrong)
