"""`incidents import` at the command line: a file imported whole, a bad one refused with
every problem on a line of its own and nothing imported, a dry run, the CSV templates;
and an export read back by the import (the CSV round trip of one kind)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.cli import cli
from incidents.models import Report, Source
from incidents.records.kinds import KINDS
from incidents.services.csv_layout import template_columns
from tests.factories import ReportFactory, TeamFactory
from tests.helpers import events, invoke

ROWS = "id,team,title,received_on,channel\n{rows}"


def _reports(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_is_imported_and_counted(app: Flask, db_session: Session, tmp_path: Path) -> None:
    TeamFactory(slug="cli-team")
    path = _file(tmp_path, "report.csv", ROWS.format(rows="r1,,Seen,2017-05-01,media\n"))
    result = invoke(app, cli, "import", path, "--team", "cli-team")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "report: 1 created",
        "imported report.csv: 1 records created or updated",
    ]
    assert db_session.scalars(select(Report)).one().title == "Seen"
    (event,) = events(db_session, "import")
    assert event.actor == "cli:tests" or event.actor.startswith("cli:")
    assert event.detail == {
        "format": "csv",
        "counts": {"report": {"created": 1}},
        "teams_created": [],
    }


def test_a_bad_file_lists_each_problem_and_imports_nothing(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    TeamFactory(slug="cli-team")
    rows = (
        "r1,cli-team,Fine,2017-05-01,media\n"
        "r2,cli-team,Bad,20.5.2017,media\n"
        "r3,cli-team,,2017-05-03,fax\n"
    )
    path = _file(tmp_path, "report.csv", ROWS.format(rows=rows))
    result = invoke(app, cli, "import", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "report.csv line 3, field received_on: Use a date like 2017-04-20.",
        "report.csv line 4, field title: Enter a title.",
        "report.csv line 4, field channel: Choose a channel from the list.",
        "nothing was imported",
    ]
    assert _reports(db_session) == 0 and not events(db_session, "import")


def test_a_dry_run_says_what_would_change(app: Flask, db_session: Session, tmp_path: Path) -> None:
    team = TeamFactory(slug="cli-team")
    stored = ReportFactory(team_id=team.id, title="Old title")
    doc = {"id": str(stored.id), "team": "cli-team", "title": "New title"}
    path = _file(tmp_path, "records.json", json.dumps({"records": {"report": [doc]}}))
    result = invoke(app, cli, "import", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "report: 1 updated",
        f"report record 1: would be updated {stored.reference} (title)",
        "checked: every row can be imported; nothing was changed (dry run)",
    ]
    db_session.refresh(stored)
    assert stored.title == "Old title"


def test_the_template_of_each_kind_is_its_header(app: Flask, db_session: Session) -> None:
    for kind in KINDS:
        if kind.name == "evidence":
            continue
        result = invoke(app, cli, "import", "--template", kind.name)
        assert result.exit_code == 0, result.output
        assert result.stdout == ",".join(template_columns(kind)) + "\n"


def test_usage_errors(app: Flask, db_session: Session, tmp_path: Path) -> None:
    assert invoke(app, cli, "import").exit_code == 2
    path = _file(tmp_path, "x.csv", "")
    assert invoke(app, cli, "import", path, "--template", "report").exit_code == 2


def test_a_csv_export_imports_back_unchanged(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    """What an export writes (formula cells neutralised, lists joined) reads back as it was."""
    team = TeamFactory(slug="cli-team")
    ReportFactory(team_id=team.id, title='=HYPERLINK("http://x")', rejection_reason="-2")
    exported = tmp_path / "report.csv"
    result = invoke(
        app,
        cli,
        "export",
        "--profile",
        "full",
        "--format",
        "csv",
        "--kind",
        "report",
        "-o",
        str(exported),
    )
    assert result.exit_code == 0, result.output
    assert "'=HYPERLINK" in exported.read_text(encoding="utf-8")
    result = invoke(app, cli, "import", str(exported))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"report: {_reports(db_session)} unchanged"
    assert not db_session.scalars(select(Source)).all()
