"""Reading an imported file: JSON (`incidents-records/1`, streamed record by record), one
CSV of one kind, or a ZIP of per-kind CSVs (incidents/services/import_csv.py).

A file is read twice and never held whole: `open_import` goes through it once to check
that it can be read at all (its encoding, its syntax, its columns or keys) and to count
its rows; `ImportFile.rows` then hands out one document at a time, the kinds in the
registry's order (referenced records first), however the file orders them. Nothing here
touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

import ijson
from ijson.backends import python as slow_parser
from ijson.common import ObjectBuilder

from incidents.records.kind import RecordKind
from incidents.records.kinds import KINDS
from incidents.services.documents import (
    ANNOTATIONS,
    BOOKKEEPING,
    REFERENCE,
    TEAM,
    document_key,
    input_names,
    recorded_columns,
)
from incidents.services.import_text import DecodedText, NotText, Utf8Stream

RECORDS_FORMAT = "incidents-records/1"
MAX_PROBLEMS = 200  # problems kept of one file; the rest are counted
FORMATS = ("json", "csv", "zip")
_KINDS = {kind.name: kind for kind in KINDS}
_ORDER = {kind.name: index for index, kind in enumerate(KINDS)}
KINDS_ORDER = tuple(kind.name for kind in KINDS)
_STARTS, _ENDS = ("start_map", "start_array"), ("end_map", "end_array")
# How deep a value of the file may nest: a record is an object whose deepest field is a
# list of names, the header's teams a list of objects. Anything deeper is not a record,
# and building it (or hashing it for an id) would only cost memory and time.
MAX_DEPTH = 8
_TOO_DEEP = (
    f"The file holds a value nested more than {MAX_DEPTH} levels deep, which no record "
    "has: import a file of records as an export writes them."
)


@dataclass(frozen=True)
class RowError:
    """One problem: the kind and row it is in (`row` counts records of the kind in a JSON
    file, lines in a CSV — `unit`), the field or column (None: the whole row), and a
    sentence saying what to do."""

    kind: str | None
    row: int | None
    field: str | None
    message: str
    source: str | None = None  # the CSV it is in ("report.csv"); None in a JSON file
    unit: str = "record"

    @property
    def place(self) -> str:
        """Where it is, as a person would look for it: "report.csv line 7", "report
        record 3", "line 12", or "the file"."""
        parts = [self.source or self.kind or ""]
        if self.row is not None:
            parts.append(f"{self.unit} {self.row}")
        return " ".join(p for p in parts if p) or "the file"

    def __str__(self) -> str:
        about = f", field {self.field}" if self.field else ""
        return f"{self.place}{about}: {self.message}"


class Problems(list[RowError]):
    """The problems found in a file: the first `MAX_PROBLEMS` kept, the others only
    counted (`more`), so that a file of a million bad lines costs the memory of a few
    hundred — a page lists no more than that either."""

    def __init__(self, errors: Iterable[RowError] = ()) -> None:
        super().__init__()
        self.more = 0
        self.extend(errors)

    def append(self, error: RowError, /) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(error)
        else:
            self.more += 1

    def extend(self, errors: Iterable[RowError], /) -> None:
        for error in errors:
            self.append(error)
        if isinstance(errors, Problems):
            self.more += errors.more


class FileProblem(Exception):
    """The file cannot be read on: one RowError, and nothing more is read."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Row:
    """One record to import: its kind, where it is in the file, and its document."""

    kind: RecordKind
    number: int
    doc: dict[str, Any]
    source: str | None = None
    unit: str = "record"

    def error(self, field: str | None, message: str) -> RowError:
        return RowError(self.kind.name, self.number, field, message, self.source, self.unit)


@dataclass
class ImportFile:
    """A file that was read through once: what it holds, and its rows on demand."""

    format: str
    name: str | None
    counts: dict[str, int] = field(default_factory=dict)  # rows per kind
    teams: dict[str, str] = field(default_factory=dict)  # the header's teams: slug -> name
    profile: str | None = None
    problems: Problems = field(default_factory=Problems)
    readable: bool = True  # False: the file could not be read through; nothing is imported
    _rows: Callable[[], Iterator[Row]] | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> Iterator[Row]:
        if self._rows is None or not self.readable:
            return iter(())
        return self._rows()


def document_keys(kind: RecordKind) -> frozenset[str]:
    """Every key a document of `kind` may have: what exports write, and a team."""
    keys = {*BOOKKEEPING, *ANNOTATIONS, *input_names(kind)}
    keys |= {document_key(column) for column in recorded_columns(kind)}
    if kind.prefix is None:
        keys.discard(REFERENCE)
    if not kind.team_scoped and kind.team_from is None:
        keys.discard(TEAM)  # a shared kind (organisations) belongs to no team
    return frozenset(keys)


def kind_called(name: str) -> RecordKind | None:
    return _KINDS.get(name)


def in_order(kinds: list[str]) -> bool:
    """Whether kinds met in this order come referenced first, as the registry has them."""
    known = [_ORDER[k] for k in kinds if k in _ORDER]
    return known == sorted(known)


def format_of(head: bytes, name: str | None) -> str:
    """The format of a file from its name's suffix, else from its first bytes."""
    suffix = PurePath(name).suffix.lower().lstrip(".") if name else ""
    if suffix in FORMATS:
        return suffix
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n\0")
    return "json" if text[:1] in (b"{", b"[") else "csv"


# -- JSON -------------------------------------------------------------------------------------


def open_json(source: IO[bytes], name: str | None) -> ImportFile:
    """Read a JSON file through once: its header, its kinds in their order, the rows of
    each and the keys no document of the kind has (once per key, not once per row)."""
    found = ImportFile("json", name)
    order: list[str] = []
    unknown: set[tuple[str, str]] = set()
    try:
        for item in _walk(source, None, found.problems):
            if isinstance(item, Row):
                kind = item.kind.name
                if kind not in found.counts:
                    order.append(kind)
                found.counts[kind] = found.counts.get(kind, 0) + 1
                for key in sorted(set(item.doc) - document_keys(item.kind)):
                    if (kind, key) not in unknown:
                        unknown.add((kind, key))
                        found.problems.append(item.error(key, _unknown_key(item.kind, key)))
            else:
                _header(found, *item)
    except FileProblem as problem:
        found.problems.append(problem.error)
        found.readable = False
        return found
    single_pass = in_order(order)

    def rows() -> Iterator[Row]:
        by_kind: list[str | None] = [k for k in KINDS_ORDER if k in order]
        passes = [None] if single_pass else by_kind
        for only in passes:
            for item in _walk(source, only, Problems()):
                if isinstance(item, Row):
                    known = document_keys(item.kind)
                    yield Row(
                        item.kind, item.number, {k: v for k, v in item.doc.items() if k in known}
                    )

    found._rows = rows
    return found


def _unknown_key(kind: RecordKind, key: str) -> str:
    return (
        f"A {kind.label} has no field {key}: remove it, or rename it to one of "
        f"{', '.join(input_names(kind))}."
    )


def _header(found: ImportFile, key: str, value: Any) -> None:
    if key == "format" and value != RECORDS_FORMAT:
        if isinstance(value, str) and value.startswith("incidents-summaries"):
            message = (
                "This file holds redacted case summaries, which cannot be imported: "
                "import an export of records (profile full or internal)."
            )
        else:
            message = f"This file's format is not {RECORDS_FORMAT}: import a file of records."
        raise FileProblem(RowError(None, None, "format", message))
    if key == "profile" and isinstance(value, str):
        found.profile = value
    if key == "teams":
        for team in value if isinstance(value, list) else []:
            if isinstance(team, dict) and isinstance(team.get("slug"), str):
                found.teams[team["slug"]] = str(team.get("name") or team["slug"])


def _walk(
    source: IO[bytes], only: str | None, problems: list[RowError]
) -> Iterator[Row | tuple[str, Any]]:
    """The file's header values, as (key, value), and its records as Rows (of the kind
    `only`, when given: the others are skipped without being built)."""
    source.seek(0)
    text = DecodedText(source)
    try:
        # Events without their paths: ijson's `parse` builds the path of every event,
        # which for a value nested 100,000 deep is gigabytes from a file of kilobytes.
        events = ijson.basic_parse(Utf8Stream(text), use_float=True)
        first = next(events, None)
        if first is None or first[0] != "start_map":
            raise _not_records()
        for event, key in events:
            if event == "end_map":  # the values are read whole: this is the object's end
                break
            event, value = next(events)
            if key != "records":
                yield key, _value(events, event, value)
            elif event != "start_map":
                raise _not_records()
            else:
                yield from _records(events, only, problems)
        for _ in events:  # what follows the object: only white space, or a syntax error
            pass
    except NotText as error:
        raise FileProblem(RowError(None, error.line, None, str(error), unit="line")) from None
    except ijson.JSONError:
        raise FileProblem(_syntax_error(source)) from None


def _records(events: Iterator[Any], only: str | None, problems: list[RowError]) -> Iterator[Row]:
    numbers: dict[str, int] = {}
    for event, name in events:
        if event == "end_map":
            return
        kind = _KINDS.get(name)
        event, value = next(events)
        if event != "start_array":
            _value(events, event, value)
            problems.append(RowError(name, None, None, "List the records of each kind: [...]."))
            continue
        if kind is None:
            problems.append(RowError(name, None, None, _no_kind(name)))
        for event, value in events:
            if event == "end_array":
                break
            number = numbers[name] = numbers.get(name, 0) + 1
            wanted = kind is not None and (only is None or only == name)
            if kind is None or not wanted:
                _skip(events, event)
                continue
            item = _value(events, event, value)
            if isinstance(item, dict):
                yield Row(kind, number, item)
            else:
                problems.append(
                    RowError(name, number, None, "Give each record as an object {...}.")
                )


def _no_kind(name: str) -> str:
    return f"There is no kind of record {name!r}: use one of {', '.join(_KINDS)}."


def _value(events: Iterator[Any], event: str, value: Any) -> Any:
    """The whole value that starts with this event (an object or list, built); one
    nested deeper than any record is (`MAX_DEPTH`) stops the reading."""
    if event not in _STARTS:
        return value
    builder = ObjectBuilder()
    depth = 0
    while True:
        builder.event(event, value)
        depth += 1 if event in _STARTS else -1 if event in _ENDS else 0
        if depth == 0:
            return builder.value
        if depth > MAX_DEPTH:
            raise FileProblem(RowError(None, None, None, _TOO_DEEP))
        event, value = next(events)


def _skip(events: Iterator[Any], event: str) -> None:
    depth = 1 if event in _STARTS else 0
    while depth:
        event = next(events)[0]
        depth += 1 if event in _STARTS else -1 if event in _ENDS else 0


def _not_records() -> FileProblem:
    return FileProblem(
        RowError(
            None,
            None,
            None,
            'The file must hold one JSON object with the records of each kind under "records", '
            "as an export writes it.",
        )
    )


_POSITION = re.compile(r" at (\d+)")


def _syntax_error(source: IO[bytes]) -> RowError:
    """Where the JSON goes wrong: the fast parser does not say, so the slow one is asked
    (only once something is wrong). No text of the file is quoted: it may name people."""
    source.seek(0)
    text = DecodedText(source)
    offset: int | None = None
    reason = "a comma, a quote or a bracket is missing or out of place"
    try:
        for _ in slow_parser.basic_parse(Utf8Stream(text)):
            pass
    except ijson.JSONError as error:
        if "Incomplete" in str(error):
            reason = "the file ends in the middle of its JSON: it may have been cut short"
            return RowError(None, text.line, None, _fix(reason), unit="line")
        if "Additional data" in str(error):
            reason = "more follows the end of the JSON object"
        match = _POSITION.search(str(error))
        offset = int(match.group(1)) if match else None
    except ValueError:  # the slow parser's string reader: a tab or line break between quotes
        reason = (
            "a tab, line break or other control character between quotes must be written "
            "as an escape (\\t, \\n)"
        )
    if offset is None:
        return RowError(None, None, None, _fix(reason))
    return RowError(None, _line_at(source, offset), None, _fix(reason), unit="line")


def _fix(reason: str) -> str:
    return f"The file is not valid JSON ({reason}): correct it, or export it again."


def _line_at(source: IO[bytes], offset: int) -> int:
    source.seek(0)
    line, seen = 1, 0
    for piece in DecodedText(source).pieces():
        if seen + len(piece) > offset:
            return line + piece[: offset - seen].count("\n")
        line += piece.count("\n")
        seen += len(piece)
    return line
