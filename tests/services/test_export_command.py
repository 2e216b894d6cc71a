"""`incidents export` at the command line: every profile in JSON and CSV, one kind or a
ZIP of all, files written owner-only, usage errors in one line."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.cli import cli
from incidents.records.kinds import KINDS
from tests.factories import IncidentFactory, ReportFactory
from tests.helpers import events, invoke


def test_a_csv_of_every_kind_is_a_zip_written_owner_only(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    report = ReportFactory(title="=cmd|' /C calc'!A0")
    target = tmp_path / "records.zip"

    result = invoke(
        app, cli, "export", "--profile", "internal", "--format", "csv", "-o", str(target)
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.partial")), "the partial file became the export"
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == [f"{kind.name}.csv" for kind in KINDS]
        rows = list(csv.DictReader(io.StringIO(archive.read("report.csv").decode(), newline="")))
    (row,) = [r for r in rows if r["id"] == str(report.id)]
    assert row["title"] == "'=cmd|' /C calc'!A0"
    assert result.stderr.splitlines()[-1].startswith("exported ")
    event = events(db_session, "export")[-1]
    assert event.detail is not None
    assert (event.detail["format"], event.detail["counts"]["report"]) == ("csv", len(rows))


def test_one_kind_goes_to_stdout_as_one_csv(app: Flask, db_session: Session) -> None:
    incident = IncidentFactory(title="A title, with a comma")
    result = invoke(
        app, cli, "export", "--profile", "full", "--format", "csv", "--kind", "incident"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    (row,) = [r for r in rows if r["id"] == str(incident.id)]
    assert row["title"] == "A title, with a comma"
    assert row["narrative"] == "A confidential narrative.", "full opens the secrets"
    assert events(db_session, "export")[-1].detail["kind"] == "incident"  # type: ignore[index]


def test_json_to_a_file_and_summaries_as_csv(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    IncidentFactory()
    target = tmp_path / "full.json"
    result = invoke(app, cli, "export", "--profile", "full", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text(encoding="utf-8"))["format"] == "incidents-records/1"

    result = invoke(app, cli, "export", "--profile", "partner", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("reference,violation_types,")


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["--profile", "internal", "--format", "csv"], ["-o FILE.zip", "--kind"]),
        (["--profile", "internal", "--format", "csv", "-o", "out.csv"], ["-o FILE.zip"]),
        (["--profile", "public", "--kind", "report"], ["--kind", "summaries"]),
        (["--profile", "full", "--kind", "nosuch"], ["--kind", "nosuch"]),
    ],
    ids=["zip-without-file", "zip-not-named-zip", "kind-of-summaries", "unknown-kind"],
)
def test_usage_errors_say_what_to_give(
    app: Flask, db_session: Session, arguments: list[str], names: list[str]
) -> None:
    before = len(events(db_session, "export"))
    result = invoke(app, cli, "export", *arguments)
    assert result.exit_code == 2, result.output
    for name in names:
        assert name in result.output
    assert len(events(db_session, "export")) == before, "nothing was exported, nothing recorded"
