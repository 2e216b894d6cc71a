"""The benchmark command and its archive generator at the smallest sizes, so that neither
can rot between the runs that measure: no figure is checked against a goal here (speed
is the benchmark's to report, never a test's), only that every step runs and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidents.services.imports import open_import
from tests.benchmarks import __main__ as command
from tests.benchmarks import generate


def test_the_same_seed_gives_the_same_archive_and_it_can_be_read(tmp_path: Path) -> None:
    first, again, other = tmp_path / "1.json", tmp_path / "1-again.json", tmp_path / "2.json"
    counts = generate.generate(first, 50, seed=1)
    generate.generate(again, 50, seed=1)
    generate.generate(other, 50, seed=2)
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert counts["report"] == 50
    with first.open("rb") as source:
        upload = open_import(source, fmt="json", name=first.name)
    assert list(upload.problems) == []
    assert upload.counts == {kind: n for kind, n in counts.items() if n}
    document = json.loads(first.read_text(encoding="utf-8"))
    teams = {record["team"] for record in document["records"]["incident"]}
    assert teams == {team["slug"] for team in document["teams"]}  # the small team too
    names = " ".join(p["full_name"] + " ".join(p["aliases"]) for p in document["records"]["person"])
    assert any("а" <= letter <= "я" for letter in names.lower())  # Cyrillic
    assert any("a" <= letter <= "z" for letter in names.lower())  # and Latin spellings


def test_the_command_measures_the_smallest_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "figures.json"
    arguments = ["--sizes", "20", "--databases", "sqlite", "--pages", "incident_list"]
    arguments += ["--repeat", "1", "--no-warm-up", "--json", str(output)]
    assert command.main(arguments) == 0
    figures = {f["measure"]: f for f in json.loads(output.read_text())["figures"]}
    imported = figures["import records/s"]
    assert imported["value"] > 0 and imported["baseline"] > 0 and imported["ratio"] > 0
    assert figures["full export records/s"]["baseline"] > 0
    page = figures["incident_list (small team) p95"]
    assert page["baseline_name"] == "bare endpoint"
    assert page["note"].endswith(" statements")
    assert "import records/s" in capsys.readouterr().out


def test_a_size_too_small_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        command.main(["--sizes", "5", "--databases", "sqlite"])
    assert stopped.value.code != 0
    assert "at least 20 reports" in capsys.readouterr().err
