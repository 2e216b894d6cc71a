"""What every list page shares: filters read from a query string, where a value that
means nothing (a hostile or stale link) is dropped rather than failing the page, and the
keyset cursors that page through a list however long it grows."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import TypeVar

E = TypeVar("E", bound=enum.Enum)


class QueryFilters:
    """For a dataclass of filters: its values as a query string (the links of the next
    page), and whether any is set."""

    def query_string(self) -> dict[str, str]:
        return {
            name: str(getattr(value, "value", value))
            for name, value in asdict(self).items()  # type: ignore[call-overload]
            if value is not None
        }

    @property
    def active(self) -> bool:
        return bool(self.query_string())


MAX_QUERY_TEXT = 100
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def choice(args: Mapping[str, str], name: str, vocabulary: type[E]) -> E | None:
    try:
        return vocabulary(args.get(name, ""))
    except ValueError:
        return None


def day(args: Mapping[str, str], name: str) -> date | None:
    text = args.get(name, "").strip()
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def month(args: Mapping[str, str], name: str) -> str | None:
    """A month, YYYY-MM (what a month input sends)."""
    text = args.get(name, "").strip()
    return text if first_day(text) is not None else None


def first_day(month_text: str | None) -> date | None:
    if not month_text or not re.fullmatch(r"\d{4}-\d{2}", month_text):
        return None
    try:
        return date(int(month_text[:4]), int(month_text[5:]), 1)
    except ValueError:
        return None


def first_day_after(month_text: str | None) -> date | None:
    """The first day of the month after `month_text`: the end of a range of months."""
    first = first_day(month_text)
    if first is None or (first.year, first.month) == (9999, 12):  # no later month to end at
        return None
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def number(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = args.get(name, "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        return None
    value = int(text)
    return value if low <= value <= high else None


def text(args: Mapping[str, str], name: str) -> str | None:
    """Free text to search by (a reference, a region): trimmed, bounded, printable."""
    value = " ".join(args.get(name, "").split())[:MAX_QUERY_TEXT]
    return value if value and value.isprintable() else None


def one_of(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed`, the first when nothing valid was asked for."""
    value = args.get(name, "")
    return value if value in allowed else allowed[0]


def date_cursor(when: date, record_id: uuid.UUID) -> str:
    """Where a page ordered by a date, then id, ends: `2017-04-20~<id>`."""
    return f"{when.isoformat()}~{record_id}"


def parse_date_cursor(text: str | None) -> tuple[date, uuid.UUID] | None:
    if not text or "~" not in text:
        return None
    when, _, record_id = text.partition("~")
    try:
        return date.fromisoformat(when), uuid.UUID(record_id)
    except ValueError:
        return None
