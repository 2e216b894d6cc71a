"""The kinds of input field a record has: each turns one raw value (text from a form, a
JSON value from a file) into what its model attribute takes, or says what to do instead.

Every message follows one convention: a full sentence that says what to do ("Enter a
title.", "Use at most 300 characters."), so a form can show it beside its field and the
command line can print it as it is.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from incidents.models.vocabularies import DatePrecision
from incidents.names import normalise_date, split_lines

SECRET_TEXT_LIMIT = 50_000  # a long testimony; the request limit bounds the rest
EARLIEST_YEAR = 1880
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Control characters have no place in what is typed (PostgreSQL refuses NUL in text);
# tabs and line breaks are kept.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Problem(Exception):
    """One field's value cannot be used; the message says what to do instead."""


@dataclass(frozen=True)
class RecordLink:
    """A field that names another record, by reference (INC-2017-0001) or id; the service
    finds it, in the same team, before anything is written."""

    kind: str
    key: str


@dataclass(frozen=True)
class InputField:
    """One value a user may enter. `parse` returns what the model attribute takes."""

    name: str
    label: str
    required: bool = False
    secret: bool = False  # sealed by the vault, never stored as given

    def parse(self, raw: object) -> Any:
        text = _text(raw)
        if text is None:
            return self.empty()
        return self.convert(text)

    def empty(self) -> Any:
        if self.required:
            raise Problem(self.missing())
        return None

    def missing(self) -> str:
        """What to do when the field is required and nothing was given."""
        return f"Enter {article(self.label)}."

    def convert(self, text: str) -> Any:
        return text

    def columns(self) -> tuple[str, ...]:
        """The model attributes this field writes."""
        return (self.name,)

    def split(self, value: Any) -> dict[str, Any]:
        """The value as model attributes (a fuzzy date writes a date and a precision)."""
        return {self.name: value}


@dataclass(frozen=True)
class Text(InputField):
    max_length: int = 300
    blank: str | None = None  # what an empty optional field stores ("" for NOT NULL text)

    def empty(self) -> Any:
        super().empty()
        return self.blank

    def convert(self, text: str) -> str | None:
        if len(text) > self.max_length:
            raise Problem(f"Use at most {self.max_length:,} characters.")
        return text


@dataclass(frozen=True)
class Secret(Text):
    """Free text sealed at rest: narratives, names, contacts."""

    secret: bool = True
    max_length: int = SECRET_TEXT_LIMIT


@dataclass(frozen=True)
class Lines(Secret):
    """One entry per line (other names and spellings); blank and repeated lines go."""

    max_lines: int = 50
    max_length: int = 300  # per line

    def parse(self, raw: object) -> Any:
        if isinstance(raw, list | tuple):  # one entry per item, as an import may send them
            raw = "\n".join(str(item) for item in raw if item is not None)
        return super().parse(raw)

    def convert(self, text: str) -> str | None:
        lines = split_lines(text)
        if len(lines) > self.max_lines:
            raise Problem(f"Enter at most {self.max_lines} lines.")
        if any(len(line) > self.max_length for line in lines):
            raise Problem(f"Keep each line to at most {self.max_length} characters.")
        return "\n".join(lines) or None


@dataclass(frozen=True)
class PartialDate(Secret):
    """A date known to the year, month or day, kept as text (a date of birth)."""

    max_length: int = 10

    def convert(self, text: str) -> str:
        normalised = normalise_date(text)
        if normalised is None:
            raise Problem("Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 1991 or 1991-04-17.")
        today = datetime.now(UTC).date().isoformat()
        if normalised > today[: len(normalised)] or int(normalised[:4]) < EARLIEST_YEAR:
            raise Problem(f"Enter a date between {EARLIEST_YEAR} and today.")
        return normalised


@dataclass(frozen=True)
class Pattern(Text):
    """Text of a fixed shape (a country code, a language tag), stored as `normal` makes it."""

    pattern: str = ""
    hint: str = ""
    normal: Callable[[str], str] = str

    def convert(self, text: str) -> str:
        text = self.normal(super().convert(text) or "")
        if not re.fullmatch(self.pattern, text):
            raise Problem(self.hint)
        return text


def country(name: str = "country") -> Pattern:
    return Pattern(
        name,
        "country",
        max_length=2,
        pattern="[A-Z]{2}",
        hint="Use the two-letter country code (ISO 3166), e.g. RU.",
        normal=str.upper,
    )


def language(name: str = "language") -> Pattern:
    return Pattern(
        name,
        "language",
        max_length=35,
        pattern=r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*",
        hint="Use a language tag such as ru, en or ce.",
    )


@dataclass(frozen=True)
class Choice(InputField):
    vocabulary: type[enum.Enum] = DatePrecision

    def missing(self) -> str:
        return f"Choose {article(self.label)}."

    def convert(self, text: str) -> enum.Enum:
        try:
            return self.vocabulary(text)
        except ValueError:
            raise Problem(f"Choose {article(self.label)} from the list.") from None

    def parse(self, raw: object) -> Any:
        if isinstance(raw, self.vocabulary):
            return raw
        return super().parse(raw)


@dataclass(frozen=True)
class Choices(InputField):
    """Several values of a vocabulary (violation types): a list, or one value."""

    vocabulary: type[enum.Enum] = DatePrecision

    def missing(self) -> str:
        return f"Choose {article(self.label)}."

    def parse(self, raw: object) -> list[enum.Enum]:
        items = raw if isinstance(raw, list | tuple) else [] if raw in (None, "") else [raw]
        chosen: dict[enum.Enum, None] = {}
        for item in items:
            try:
                chosen.setdefault(self.vocabulary(item), None)
            except ValueError:
                raise Problem(f"Choose {self.label} from the list.") from None
        if self.required and not chosen:
            raise Problem(f"Choose at least one {self.label.rstrip('s')}.")
        return list(chosen)


@dataclass(frozen=True)
class Number(InputField):
    minimum: int = 0
    maximum: int = 2**31 - 1

    def parse(self, raw: object) -> Any:
        if isinstance(raw, bool):
            raise Problem(self._hint())
        if isinstance(raw, int):
            return self._bounded(raw)
        return super().parse(raw)

    def convert(self, text: str) -> int:
        digits = text.replace(",", "").replace("_", "").replace(" ", "")
        if not re.fullmatch(r"-?\d{1,12}", digits):
            raise Problem(self._hint())
        return self._bounded(int(digits))

    def _bounded(self, value: int) -> int:
        if not self.minimum <= value <= self.maximum:
            raise Problem(self._hint())
        return value

    def _hint(self) -> str:
        if self.maximum < 100:
            return f"Choose a whole number from {self.minimum} to {self.maximum}."
        return f"Enter a whole number from {self.minimum} to {self.maximum:,}."


@dataclass(frozen=True)
class Day(InputField):
    """A calendar date: a date object, or text YYYY-MM-DD."""

    def parse(self, raw: object) -> Any:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        return super().parse(raw)

    def convert(self, text: str) -> date:
        try:
            if not _ISO_DAY.fullmatch(text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            raise Problem("Use a date like 2017-04-20.") from None
        if day.year < EARLIEST_YEAR:
            raise Problem(f"Enter a date after {EARLIEST_YEAR}.")
        return day


@dataclass(frozen=True)
class FuzzyDate(InputField):
    """A date known to the year, month or day (2017, 2017-04, 2017-04-20).

    Writes the date (the first day of what is known) and its precision. Exports and the
    API write the precision apart, under `<name>_precision`: it may be given with the
    date, and then says how much of it is known — never more than the date shows.
    """

    precision_field: str = ""

    def parse(self, raw: object) -> tuple[date | None, DatePrecision]:
        precision: object = None
        if isinstance(raw, tuple):  # (date or text, precision), given apart
            if len(raw) != 2:
                raise Problem("Give the date and how precisely it is known.")
            raw, precision = raw
        if isinstance(raw, date):
            raw = raw.isoformat()
        text = _text(raw)
        if text is None:
            if precision not in (None, "", DatePrecision.UNKNOWN.value):
                raise Problem("Give the date as well as how precisely it is known.")
            if self.required:
                raise Problem(self.missing())
            return None, DatePrecision.UNKNOWN
        normalised = normalise_date(text)
        if normalised is None:
            raise Problem("Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2017 or 2017-04-20.")
        shown = _SHAPES.get(len(normalised), DatePrecision.DAY)
        if precision not in (None, ""):
            try:
                given = DatePrecision(str(precision))
            except ValueError:
                raise Problem("Choose how precisely the date is known.") from None
            if _FINER[given] > _FINER[shown]:
                raise Problem(f"{text} is known only to the {shown.value}: give more of it.")
            shown = given
        if shown is DatePrecision.UNKNOWN:
            return None, shown
        year, month, day = (int(part) for part in (normalised + "-01-01")[:10].split("-"))
        return date(year, month, day), shown

    def columns(self) -> tuple[str, ...]:
        return (self.name, self.precision_field)

    def split(self, value: Any) -> dict[str, Any]:
        when, precision = value
        return {self.name: when, self.precision_field: precision}


_SHAPES = {4: DatePrecision.YEAR, 7: DatePrecision.MONTH}
_FINER = {
    DatePrecision.UNKNOWN: 0,
    DatePrecision.YEAR: 1,
    DatePrecision.MONTH: 2,
    DatePrecision.DAY: 3,
}


@dataclass(frozen=True)
class Link(InputField):
    """Another record of the same team, by reference or id (a report's source)."""

    kind: str = ""

    def missing(self) -> str:
        return f"Choose {article(self.label)}."

    def convert(self, text: str) -> RecordLink:
        if len(text) > 64:
            raise Problem(f"Enter the reference of {article(self.label)}.")
        return RecordLink(self.kind, text.upper() if "-" in text[:4] else text)

    def columns(self) -> tuple[str, ...]:
        return (f"{self.name}_id",)

    def split(self, value: Any) -> dict[str, Any]:
        return {f"{self.name}_id": value}


@dataclass(frozen=True)
class LinkList(InputField):
    """Several shared records by id (the organisations behind an action)."""

    kind: str = ""

    def missing(self) -> str:
        return f"Choose {article(self.label)}."

    def parse(self, raw: object) -> list[RecordLink]:
        items = raw if isinstance(raw, list | tuple) else [] if raw in (None, "") else [raw]
        links = []
        for item in items:
            text = _text(item)
            if text is None or len(text) > 64:
                raise Problem(f"Choose {self.label} from the list.")
            links.append(RecordLink(self.kind, text))
        return links


def _text(raw: object) -> str | None:
    """Stripped text, or None for nothing (None, empty, only spaces)."""
    if raw is None:
        return None
    if isinstance(raw, enum.Enum):
        raw = raw.value
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise Problem("Enter text here.")
    text = str(raw).strip()
    if _CONTROL.search(text):
        raise Problem("Remove the control characters.")
    return text or None


def article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith(("ss", "us")):  # plural: "other names"
        return noun
    return f"an {noun}" if noun[:1].lower() in "aeio" else f"a {noun}"
