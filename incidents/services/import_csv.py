"""Reading imported CSV: one file of one kind, or a ZIP of them named after their kinds
(`report.csv`), in the layout of incidents/services/csv_layout.py.

The header is checked once — a column the kind does not have is one error naming it,
not one per row — and each row becomes a document: an empty cell is no value, a list
cell is split at `;` or line breaks, the apostrophe an export puts before a formula's
first character is taken off again. Rows are numbered by the line they start on.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import PurePosixPath
from typing import IO, Any

from incidents.records.fields import Choices, LinkList
from incidents.records.kind import RecordKind
from incidents.records.kinds import KINDS
from incidents.services.csv_layout import FORMULA_STARTS, template_columns
from incidents.services.documents import ID, LOCK_VERSION, REFERENCE, TEAM
from incidents.services.import_files import (
    FileProblem,
    ImportFile,
    Problems,
    Row,
    RowError,
    document_keys,
    kind_called,
)
from incidents.services.import_text import DecodedText, NotText

# The longest cell read (the csv module's own default, said here so that it is a choice):
# more than twice the longest field a record takes (a 50,000-character testimony).
CELL_LIMIT = 131_072
# The longest line read: a row's cells, each up to CELL_LIMIT, are rarely all long.
LINE_LIMIT = 16 * CELL_LIMIT
# A ZIP of CSVs unpacks to a few times its size (ids and dates compress little); one
# that would unpack to more than this many times, and to more than UNPACKED_FREELY, is
# not one an export made — a "ZIP bomb" of gigabytes in kilobytes — and is not read.
MAX_EXPANSION = 50
UNPACKED_FREELY = 16 * 1024 * 1024
_ENCRYPTED = 0x1  # the flag bit of a member with a password
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
# What reading a damaged archive or member raises: a wrong CRC, a broken stream, a cut
# archive, ValueError for offsets before the start of the file, NotImplementedError for
# a version or method zipfile does not read.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
)
_LINE = "line"
_KEYS = (ID, REFERENCE, TEAM, LOCK_VERSION)
_EMPTY = "The CSV is empty: start it with the header row of its template."


def template(kind: RecordKind) -> str:
    """The header row of a CSV of `kind` to fill in, with its line break."""
    return ",".join(template_columns(kind)) + "\r\n"


def kind_of_csv(name: str | None, kind: str | None) -> RecordKind:
    """The kind a CSV holds: the one asked for, else the one its file is named after."""
    wanted = kind or (PurePosixPath(name).stem if name else None)
    found = kind_called(wanted) if wanted else None
    if found is None:
        raise FileProblem(
            RowError(
                kind,
                None,
                None,
                "Say which kind of record the CSV holds (choose the kind, or name the file "
                "after it, such as report.csv).",
            )
        )
    return found


def open_csv(source: IO[bytes], name: str | None, kind: RecordKind) -> ImportFile:
    """Read one CSV of `kind` through once: its header, its rows, whether it can be read."""
    label = f"{kind.name}.csv"
    found = ImportFile("csv", name)
    _scan(found, kind, label, lambda: contextlib.nullcontext(_rewound(source)))

    def rows() -> Iterator[Row]:
        return _rows(kind, label, _rewound(source), Problems())

    found._rows = rows
    return found


def open_zip(source: IO[bytes], name: str | None) -> ImportFile:
    """Read a ZIP of per-kind CSVs through once; its members are imported in the
    registry's order (referenced records first) whatever the archive's order."""
    found = ImportFile("zip", name)
    try:
        archive = zipfile.ZipFile(source)
        members = _members(archive, found)
    except _DAMAGED:
        found.problems.append(
            RowError(
                None, None, None, "The file is not a ZIP archive that can be read: make it again."
            )
        )
        found.readable = False
        return found
    unpacked = sum(info.file_size for _kind, info in members)  # zipfile reads no more
    if unpacked > max(UNPACKED_FREELY, MAX_EXPANSION * _size(source)):
        found.problems.append(RowError(None, None, None, _too_large_unpacked(unpacked)))
        found.readable = False
        return found
    for kind, info in members:
        _scan_member(found, archive, kind, info)
        if not found.readable:
            return found

    def rows() -> Iterator[Row]:
        for kind, info in members:
            with archive.open(info) as member:
                yield from _rows(kind, f"{kind.name}.csv", member, Problems())

    found._rows = rows
    return found


def _scan_member(
    found: ImportFile, archive: zipfile.ZipFile, kind: RecordKind, info: zipfile.ZipInfo
) -> None:
    """`_scan` one CSV of the ZIP; one that cannot be unpacked is one problem, not a crash."""
    label = f"{kind.name}.csv"
    if info.flag_bits & _ENCRYPTED or info.compress_type not in _METHODS:
        message = (
            f"{info.filename} in the ZIP is encrypted, or compressed in a way that is not "
            "read: make the ZIP again without a password."
        )
    else:
        try:
            _scan(found, kind, label, functools.partial(archive.open, info))
            return
        except _DAMAGED:
            message = (
                f"{info.filename} in the ZIP is damaged and cannot be unpacked: make the ZIP again."
            )
    found.problems.append(RowError(kind.name, None, None, message, label))
    found.readable = False


def _members(
    archive: zipfile.ZipFile, found: ImportFile
) -> list[tuple[RecordKind, zipfile.ZipInfo]]:
    by_kind: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        # Not info.is_dir(): a damaged archive may name a member with nothing at all.
        if info.filename.endswith("/") or path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        kind = kind_called(path.stem) if path.suffix.lower() == ".csv" else None
        if kind is None or kind.name in by_kind:
            found.problems.append(
                RowError(
                    None,
                    None,
                    None,
                    f"The ZIP holds {path.name or 'a file without a name'}: it may hold one "
                    "CSV per kind of record, each named after its kind (report.csv); remove "
                    "or rename that file.",
                    source=path.name or None,
                )
            )
            continue
        by_kind[kind.name] = info
    return [(kind, by_kind[kind.name]) for kind in KINDS if kind.name in by_kind]


def _size(source: IO[bytes]) -> int:
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def _too_large_unpacked(unpacked: int) -> str:
    return (
        f"The ZIP would unpack to {unpacked:,} bytes, more than {MAX_EXPANSION} times its "
        "own size, which no ZIP of records does: nothing was read. Make the ZIP again from "
        "the CSV files, or import them one by one."
    )


def _rewound(source: IO[bytes]) -> IO[bytes]:
    source.seek(0)
    return source


def _scan(
    found: ImportFile,
    kind: RecordKind,
    label: str,
    opened: Callable[[], AbstractContextManager[IO[bytes]]],
) -> None:
    problems = Problems()
    count = 0
    try:
        with opened() as raw:
            for _row in _rows(kind, label, raw, problems):
                count += 1
    except FileProblem as problem:
        problems.append(problem.error)
        found.readable = False
    found.counts[kind.name] = found.counts.get(kind.name, 0) + count
    found.problems.extend(problems)


def _rows(kind: RecordKind, label: str, raw: IO[bytes], problems: list[RowError]) -> Iterator[Row]:
    """The documents of the CSV `raw`; problems with its header go into `problems`."""
    csv.field_size_limit(CELL_LIMIT)
    line = 1
    try:
        lines = DecodedText(raw).lines(LINE_LIMIT)
        first = next(lines, "")
        reader = csv.reader(itertools.chain([first], lines), _dialect(first), strict=True)
        header = [cell.strip() for cell in next(reader, [])]
        if not header:
            problems.append(RowError(kind.name, 1, None, _EMPTY, label, _LINE))
        columns = _columns(kind, label, header, problems)
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problems.append(
                    RowError(
                        kind.name,
                        start,
                        None,
                        "This line has more cells than the header has columns: put a cell "
                        "that holds a comma or a line break in double quotes.",
                        label,
                        _LINE,
                    )
                )
                continue
            yield Row(kind, start, _document(kind, columns, cells), label, _LINE)
    except NotText as error:
        raise FileProblem(RowError(kind.name, error.line, None, str(error), label, _LINE)) from None
    except csv.Error as error:
        raise FileProblem(_csv_error(kind, label, line + 1, error)) from None


def _dialect(first: str) -> type[csv.Dialect]:
    """Commas, or the semicolons or tabs some spreadsheets write instead."""
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])

    class Read(csv.excel):
        delimiter = best if counts[best] else ","

    return Read


def _columns(
    kind: RecordKind, label: str, header: list[str], problems: list[RowError]
) -> list[str | None]:
    """The header's columns, None for those that are not read (each named once)."""
    known = document_keys(kind)
    columns: list[str | None] = []
    for name in header:
        if name in known and name not in columns:
            columns.append(name)
            continue
        if name in columns:
            message = f"The column {name} is there twice: keep one."
        elif not name:
            message = "A column has no name: name it after a field, or remove it."
        else:
            message = (
                f"A {kind.label} has no field {name}: remove the column, or rename it to "
                f"one of the template's ({', '.join(template_columns(kind))})."
            )
        problems.append(RowError(kind.name, 1, name or None, message, label, _LINE))
        columns.append(None)
    return columns


def _document(kind: RecordKind, columns: list[str | None], cells: list[str]) -> dict[str, Any]:
    lists = {spec.name for spec in kind.fields if isinstance(spec, Choices | LinkList)}
    doc: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=False):
        if column is None:
            continue
        text = unescape(cell)
        if column in lists:
            items = [item.strip() for item in text.replace("\n", ";").split(";")]
            doc[column] = [item for item in items if item] or None
        elif text.strip():
            doc[column] = text
        elif column not in _KEYS:
            doc[column] = None  # an empty cell: no value
    return doc


def unescape(cell: str) -> str:
    """A cell as it was before an export neutralised it: one leading apostrophe before a
    formula's first character is taken off ("'=1+2" is "=1+2")."""
    if cell.startswith("'") and cell[1:2] and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _csv_error(kind: RecordKind, label: str, line: int, error: csv.Error) -> RowError:
    if "field larger" in str(error):
        message = (
            f"A cell here is longer than {CELL_LIMIT:,} characters, far more than any field "
            "takes: shorten it, or check that its quotes are closed."
        )
    else:
        message = (
            "This line is not valid CSV (a quote is not closed, or stands inside a cell "
            "without quotes around it): check its quotes."
        )
    return RowError(kind.name, line, None, message, label, _LINE)
