"""Fuzzing the import readers (JSON, CSV, ZIP of CSVs, and the text decoding under them):
any bytes are read into rows or into problems that name where and what to do; nothing
escapes as an exception, neither on the first pass nor while the rows are handed out."""

from __future__ import annotations

import io
import json
import zipfile

from hypothesis import example, given
from hypothesis import strategies as st

from incidents.records.kinds import kind_named
from incidents.services.import_csv import template
from incidents.services.import_files import RowError
from incidents.services.imports import open_import
from tests.fuzz import FUZZ

SOURCE = kind_named("source")
COLUMNS = len(template(SOURCE).split(","))
CSV = (template(SOURCE) + ",".join(["Witness A"] * COLUMNS) + "\r\n").encode()
JSON = json.dumps(
    {
        "format": "incidents-records/1",
        "records": {"source": [{"name": "Witness A", "kind": "witness"}], "person": [{}]},
    }
).encode()
ARCHIVE = io.BytesIO()
with zipfile.ZipFile(ARCHIVE, "w") as _archive:
    _archive.writestr("source.csv", CSV)
ZIP = ARCHIVE.getvalue()

# Bytes that break text and its parsers: quotes, separators, BOMs, NUL, lone UTF-8
# continuation bytes, brackets, and line ends of every kind.
PIECES = st.sampled_from(
    [b'"', b",", b";", b"\t", b"\r", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe",
     b"\x80", b"\xc3", b"[", b"{", b"]", b"}", b":", b"\\", b"1e999", b"-0", b"null", b"=1+1"]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(PIECES | st.binary(min_size=1, max_size=12))
        action = draw(st.sampled_from(["insert", "replace", "delete", "cut"]))
        if action == "insert":
            data[at:at] = piece
        elif action == "replace":
            data[at : at + len(piece)] = piece
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


def _read_everything(data: bytes, name: str) -> None:
    found = open_import(io.BytesIO(data), name=name)
    rows = list(found.rows())
    if not found.readable:
        assert found.problems, "an unreadable file without a problem saying why"
        assert not rows
    for problem in found.problems:
        assert isinstance(problem, RowError) and problem.message.strip()
        assert str(problem).startswith(problem.place)
    for row in rows:
        assert row.kind.name in {"source", "person"} and isinstance(row.doc, dict)


@FUZZ
@given(data=mutated(JSON) | st.binary(max_size=300))
@example(data=b"")
@example(data=b'{"records": {"source": [' + b"[" * 10_000 + b"]}}")
@example(data=JSON[: len(JSON) // 2])
@example(data=b'{"\tformat": 1}')  # a tab between quotes: the slow parser's ValueError
def test_any_json_file_is_rows_or_problems(data: bytes) -> None:
    _read_everything(data, "records.json")


@FUZZ
@given(data=mutated(CSV) | st.binary(max_size=300))
@example(data=b"\xff\xfe" + CSV)
@example(data=b'"' + CSV)
def test_any_csv_file_is_rows_or_problems(data: bytes) -> None:
    _read_everything(data, "source.csv")


@FUZZ
@given(data=mutated(ZIP) | st.binary(max_size=300))
@example(data=ZIP[:-10])
def test_any_zip_file_is_rows_or_problems(data: bytes) -> None:
    _read_everything(data, "records.zip")
