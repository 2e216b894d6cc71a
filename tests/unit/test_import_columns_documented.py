"""The README's table of CSV columns per kind is the registry's: a field added to a kind
is a column of its template, and the table says so or this test fails."""

from __future__ import annotations

import re
from pathlib import Path

from incidents.records.kinds import KINDS
from incidents.services.csv_layout import template_columns

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<kind>[a-z_]+)` \| (?P<columns>`.*`) \|$")


def _documented() -> dict[str, tuple[str, ...]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Importing", 1)[1].split("\n#", 1)[0]
    table = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            columns = tuple(c.strip().strip("`") for c in match["columns"].split(","))
            table[match["kind"]] = columns
    return table


def test_the_readme_lists_each_kinds_template_columns() -> None:
    expected = {k.name: template_columns(k) for k in KINDS if k.name != "evidence"}
    assert _documented() == expected
