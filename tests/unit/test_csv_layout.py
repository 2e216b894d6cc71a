"""The CSV layout without a database: formula neutralisation (property-based), cells,
headers, and the files the export writers make (a CSV, a ZIP streamed in chunks)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from incidents.db import FieldClass
from incidents.records.kinds import KINDS, kind_named
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile
from incidents.services.csv_layout import (
    FORMULA_STARTS,
    cell,
    export_columns,
    neutralise,
    template_columns,
)
from incidents.services.documents import input_names
from incidents.services.export_files import csv_file, json_file, json_list_file, zip_file

PROPERTY = settings(database=None, deadline=None, max_examples=300)


@PROPERTY
@given(st.text())
@example('=HYPERLINK("http://evil.example","Click")')
@example("+1")
@example("-2")
@example("@SUM(A1)")
@example("\tindented")
@example("\rreturn")
@example("")
@example("'=already quoted")
def test_no_neutralised_cell_starts_like_a_formula_and_one_apostrophe_gives_it_back(
    text: str,
) -> None:
    written = neutralise(text)
    assert not written.startswith(FORMULA_STARTS)
    if text.startswith(FORMULA_STARTS):
        assert written == f"'{text}"  # what an import takes off again
    else:
        assert written == text  # anything else is left exactly as it was


@pytest.mark.parametrize(
    ("value", "lines", "text"),
    [
        (None, False, ""),
        ("", False, ""),
        (3, False, "3"),
        (["abduction", "torture"], False, "abduction; torture"),
        (["Ali", "Alik"], True, "Ali\nAlik"),
        ([], False, ""),
        (True, False, "true"),
    ],
)
def test_cells(value: object, lines: bool, text: str) -> None:
    assert cell(value, lines=lines) == text


def test_headers_follow_the_registry() -> None:
    report = kind_named("report")
    assert template_columns(report) == ("id", "reference", "team", *input_names(report))
    incident = template_columns(kind_named("incident"))
    assert incident.index("start_precision") == incident.index("start_date") + 1
    response = kind_named("action_response")
    assert template_columns(response)[:2] == ("id", "action"), "no team of its own"
    internal = PROFILE_FIELD_CLASSES[Profile.INTERNAL]
    for kind in KINDS:
        full = export_columns(kind, PROFILE_FIELD_CLASSES[Profile.FULL])
        assert full[: len(template_columns(kind))] == template_columns(kind)
        assert set(export_columns(kind, internal)) <= set(full)
    assert "narrative" not in export_columns(kind_named("report"), internal)
    assert "sha256" in export_columns(kind_named("evidence"), internal)
    assert "filename" not in export_columns(kind_named("evidence"), internal)
    assert export_columns(kind_named("organisation"), {FieldClass.PUBLIC})[:1] == ("id",)


def test_a_csv_is_its_header_then_its_rows_in_chunks() -> None:
    chunks = list(csv_file(["id", "title"], [[["1", "a, b"]], [], [["2", "line\nbreak"]]]))
    assert len(chunks) == 4, "the header, then one chunk a batch"
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert rows == [["id", "title"], ["1", "a, b"], ["2", "line\nbreak"]]


def test_a_zip_is_streamed_member_by_member() -> None:
    members = [
        ("a.csv", iter([b"id\r\n", b"1\r\n"])),
        ("b.csv", iter([b"id\r\n" * 10_000])),
    ]
    chunks = list(zip_file(members))
    assert len(chunks) > 3
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.namelist() == ["a.csv", "b.csv"]
        assert archive.read("a.csv") == b"id\r\n1\r\n"
        assert archive.read("b.csv") == b"id\r\n" * 10_000
        assert archive.testzip() is None


def test_json_files_are_whole_documents() -> None:
    header = {"format": "x/1", "note": "é"}
    sections = [("one", [[{"n": 1}], [{"n": 2}]]), ("two", [])]
    assert json.loads(b"".join(json_file(header, "records", sections))) == {
        **header,
        "records": {"one": [{"n": 1}, {"n": 2}], "two": []},
    }
    assert json.loads(b"".join(json_list_file(header, "summaries", [[], [{"n": 1}]]))) == {
        **header,
        "summaries": [{"n": 1}],
    }
