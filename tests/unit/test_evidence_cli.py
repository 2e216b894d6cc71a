"""`incidents evidence add|get` in a subprocess: round trip, verified output written whole or
not at all, one-line errors (the README's "Using it"; security checks 27, 28)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from incidents import create_app
from incidents.extensions import db
from incidents.models import Report, Team
from incidents.models.vocabularies import Channel
from incidents.services.records import insert
from tests import helpers, samples
from tests.unit.test_cli import assert_ok, assert_one_line_error, clean_environment, run

ADDED = re.compile(r"^added evidence ([0-9a-f-]{36}) to (RPT-\d{4}-\d{4})")


@dataclass
class Setup:
    workdir: Path
    environ: dict[str, str]
    report: str

    @property
    def database(self) -> Path:
        return self.workdir / "instance" / "incidents.db"


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    """A migrated SQLite database in the instance folder with one report in it."""
    environ = clean_environment(tmp_path / "instance")
    assert_ok(run(["db", "upgrade"], tmp_path, environ))
    app = create_app(
        {
            "env": "testing",
            "instance_path": environ["INCIDENTS_INSTANCE_PATH"],
            "secret_key": environ["INCIDENTS_SECRET_KEY"],
            "master_key": environ["INCIDENTS_MASTER_KEY"],
        }
    )
    with app.app_context():
        team = Team(slug="cli", name="CLI team")
        db.session.add(team)
        db.session.flush()
        report = insert(
            helpers.context(db.session, app),
            Report(
                team_id=team.id,
                title="Report",
                received_on=dt.date(2017, 4, 1),
                channel=Channel.INTERVIEW,
                credibility=3,
            ),
            {"narrative": "A confidential account."},
        )
        db.session.commit()
        reference = report.reference
        db.engine.dispose()
    return Setup(tmp_path, environ, reference)


def add(setup: Setup, path: Path, *extra: str) -> str:
    result = run(["evidence", "add", setup.report, str(path), *extra], setup.workdir, setup.environ)
    assert_ok(result)
    match = ADDED.match(result.stdout)
    assert match, result.stdout
    return match.group(1)


def test_add_then_get_round_trips(setup: Setup) -> None:
    content = samples.png(padding=2 * 1024 * 1024 + 17)  # three chunks at 1 MiB
    source = setup.workdir / "IMG_2017-03-01.png"
    source.write_bytes(content)
    evidence_id = add(setup, source, "--description", "At the checkpoint")
    output = setup.workdir / "copy.png"
    result = run(["evidence", "get", evidence_id, "-o", str(output)], setup.workdir, setup.environ)
    assert_ok(result)
    assert "verified" in result.stdout
    assert output.read_bytes() == content
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "IMG_2017" not in result.stdout + result.stderr  # the name stays encrypted

    again = run(["evidence", "get", evidence_id, "-o", str(output)], setup.workdir, setup.environ)
    assert_one_line_error(again, "exists")
    assert output.read_bytes() == content


def test_a_failed_hash_check_leaves_no_output_file(setup: Setup) -> None:
    source = setup.workdir / "photo.png"
    source.write_bytes(samples.png(padding=3000))
    evidence_id = add(setup, source)
    with sqlite3.connect(setup.database) as connection:
        connection.execute("UPDATE evidence SET sha256 = ?", ("ef" * 32,))
    connection.close()
    output = setup.workdir / "copy.png"
    result = run(["evidence", "get", evidence_id, "-o", str(output)], setup.workdir, setup.environ)
    assert_one_line_error(result, evidence_id, setup.report, "does not match")
    assert sorted(p.name for p in setup.workdir.iterdir()) == ["instance", "photo.png"]


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["evidence", "add", "RPT-1999-9999", "{file}"], ["no report", "RPT-1999-9999"]),
        (["evidence", "add", "{report}", "{dir}/missing.png"], ["missing.png"]),
        (["evidence", "add", "{report}", "{elf}"], ["Programs"]),
        (["evidence", "get", "not-a-uuid", "-o", "{dir}/x"], ["not-a-uuid"]),
        (["evidence", "get", "00000000-0000-0000-0000-000000000000", "-o", "{dir}/x"], ["no evid"]),
    ],
    ids=["unknown report", "missing file", "a program", "bad id", "unknown evidence"],
)
def test_failures_are_one_line(setup: Setup, arguments: list[str], names: list[str]) -> None:
    (setup.workdir / "photo.png").write_bytes(samples.png())
    (setup.workdir / "tool").write_bytes(samples.REJECTED["ELF program"][0])
    values = {
        "file": str(setup.workdir / "photo.png"),
        "elf": str(setup.workdir / "tool"),
        "dir": str(setup.workdir),
        "report": setup.report,
    }
    result = run([a.format(**values) for a in arguments], setup.workdir, setup.environ)
    assert_one_line_error(result, *names)
    assert not list((setup.workdir / "instance" / "evidence").rglob("*.partial"))


def test_the_size_limit_applies_at_the_command_line(setup: Setup) -> None:
    source = setup.workdir / "photo.png"
    source.write_bytes(samples.png(padding=2000))
    setup.environ["INCIDENTS_EVIDENCE_MAX_BYTES"] = "1000"
    result = run(["evidence", "add", setup.report, str(source)], setup.workdir, setup.environ)
    assert_one_line_error(result, "larger than 1000 bytes")
    assert [p for p in (setup.workdir / "instance" / "evidence").rglob("*") if p.is_file()] == []
