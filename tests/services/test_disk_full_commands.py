"""Commands that run out of disk: the real `incidents` command in a process whose files may
not grow past a limit (RLIMIT_FSIZE: a write beyond it fails, as on a full disk), against
a SQLite installation. Each fails with one line saying nothing was saved, and afterwards
the database opens, passes its integrity check and the installation check, and holds
everything it held before."""

from __future__ import annotations

import contextlib
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from incidents.cli.health import check_command
from tests import samples
from tests.installation import Installation, command_environment, installation

__all__ = ["installation"]  # a fixture: imported for pytest to find

pytestmark = pytest.mark.slow  # two commands in processes of their own

ENTRY_POINT = "from incidents.cli import main; main()"


def _incidents_within(
    installation: Installation, limit: int, *arguments: str
) -> subprocess.CompletedProcess[str]:
    def limit_file_sizes() -> None:  # runs in the child, before the command starts
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, *arguments],
        env=command_environment(installation),
        preexec_fn=limit_file_sizes,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql).fetchall()


def _check_passes(installation: Installation) -> str:
    result = CliRunner().invoke(check_command, [], env=installation.env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def test_commands_on_a_full_disk_fail_in_one_line_and_lose_nothing(
    installation: Installation, tmp_path: Path
) -> None:
    database = Path(installation.url.removeprefix("sqlite:///"))
    users = _rows(database, "SELECT count(*) FROM users")
    events = _rows(database, "SELECT count(*) FROM audit_events")
    earlier_file = installation.evidence_path.read_bytes()

    # The database's own writes: its write-ahead log may not grow past 40 KB (enough for
    # its shared-memory index, not for a user, their role and the audit event).
    created = _incidents_within(
        installation,
        40_000,
        *("users", "create", "--email", "new@example.org", "--name", "New"),
        *("--role", "researcher", "--password", "correct horse battery staple"),
    )
    assert created.returncode == 1
    assert created.stderr.strip().splitlines() == [
        "error: not enough disk space to write to (or the disk refuses writes); nothing was "
        "saved: free some space, then run it again"
    ]
    assert _rows(database, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(database, "SELECT count(*) FROM users") == users
    assert _rows(database, "SELECT count(*) FROM audit_events") == events

    # An evidence file larger than what the store may still write.
    report = _rows(database, "SELECT reference FROM reports")[0][0]
    large = tmp_path / "large.png"
    large.write_bytes(samples.png(padding=600_000))
    added = _incidents_within(installation, 300_000, "evidence", "add", str(report), str(large))
    assert added.returncode == 1
    assert added.stderr.strip().splitlines() == [
        "error: Not enough disk space to store the file; nothing was saved. Ask an "
        "administrator to free space on the server, then try again."
    ]
    assert _rows(database, "SELECT count(*) FROM evidence") == [(1,)]
    stored = [p for p in (installation.instance / "evidence").rglob("*") if p.is_file()]
    assert stored == [installation.evidence_path]  # no half-written file left
    assert installation.evidence_path.read_bytes() == earlier_file

    assert "ok" in _check_passes(installation)
