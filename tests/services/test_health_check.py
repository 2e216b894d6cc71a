"""`incidents check`: one table, every part ok on a sound installation, and each part
broken in turn — a master key gone, an evidence file deleted, an audit row edited behind
the application's back, the database unreachable — named failing on its own row, with a
non-zero exit and no traceback. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from incidents.cli.health import check_command
from incidents.crypto.keys import MasterKey, generate_master_key, write_key_file
from incidents.models import Evidence
from tests.audit.conftest import GUARDS
from tests.installation import Installation, command_environment, installation
from tests.security.conftest import REDIS_URL, require_redis

__all__ = ["installation"]  # a fixture: imported for pytest to find

ENTRY_POINT = "from incidents.cli import main; main()"
COMPONENTS = ["database", "keys", "evidence store", "audit log", "rate limits"]


def _check(installation: Installation, **changes: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run the command in-process; its exit status and the table, by component."""
    unset = {name: None for name in os.environ if name.startswith("INCIDENTS_")}
    env = {**unset, **installation.env, **changes}
    result = CliRunner().invoke(check_command, [], env=env, catch_exceptions=False)
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["component", "status", "detail"], result.stdout
    table = {}
    for line in lines[1:]:
        name = next(c for c in COMPONENTS if line.startswith(c))
        status, _, detail = line[len(name) :].strip().partition("  ")
        table[name] = (status, detail.strip())
    assert list(table) == COMPONENTS, result.stdout  # always the whole table
    if result.exit_code:
        assert "failing" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    return result.exit_code, table


def _statuses(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: status for name, (status, _) in table.items()}


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_sound_installation_is_ok_and_each_broken_part_is_named(
    installation: Installation,
) -> None:
    status, table = _check(installation)
    assert status == 0, table
    assert _statuses(table) == dict.fromkeys(COMPONENTS, "ok")
    assert "all 1 files present" in table["evidence store"][1]

    # A key file that lost the key the data keys were wrapped by.
    original_keys = installation.key_file.read_bytes()
    other = generate_master_key()
    write_key_file(installation.key_file, [other], other.key_id)
    status, table = _check(installation)
    assert status == 1
    assert _statuses(table) == {**dict.fromkeys(COMPONENTS, "ok"), "keys": "failing"}
    assert "not held" in table["keys"][1]
    installation.key_file.write_bytes(original_keys)

    # The same key id with other material: the sample data key does not unwrap.
    forged = MasterKey(installation.key_id, secrets.token_bytes(32))
    write_key_file(installation.key_file, [forged], forged.key_id)
    status, table = _check(installation)
    assert status == 1 and table["keys"][0] == "failing", table
    assert "other material" in table["keys"][1]
    installation.key_file.write_bytes(original_keys)

    # An evidence file deleted from the store.
    content = installation.evidence_path.read_bytes()
    installation.evidence_path.unlink()
    status, table = _check(installation)
    assert status == 1
    assert _statuses(table) == {**dict.fromkeys(COMPONENTS, "ok"), "evidence store": "failing"}
    assert "1 of 1 evidence files are missing" in table["evidence store"][1]
    installation.evidence_path.write_bytes(content)
    assert _check(installation)[0] == 0

    # A file no evidence row names (an upload killed before its row committed): a warning.
    stray = installation.evidence_path.parent / secrets.token_hex(32)
    stray.write_bytes(b"ciphertext nobody names")
    status, table = _check(installation)
    assert status == 0 and table["evidence store"][0] == "warning", table
    assert "1 files no evidence row names" in table["evidence store"][1]
    stray.unlink()

    # An audit row edited through a direct connection, its guard trigger out of the way.
    _tamper_with_first_event(installation.url)
    status, table = _check(installation)
    assert status == 1
    assert _statuses(table) == {**dict.fromkeys(COMPONENTS, "ok"), "audit log": "failing"}
    assert "event 1 does not match its recorded hash" in table["audit log"][1]


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_an_unreachable_database_fails_its_row_and_the_rest_is_still_checked(
    installation: Installation, tmp_path: Path
) -> None:
    if installation.url.startswith("sqlite"):
        gone = f"sqlite:///{tmp_path / 'no-such-folder' / 'incidents.db'}"
    else:
        gone = "postgresql+psycopg://postgres@127.0.0.1:1/incidents"  # nothing listens there
    status, table = _check(installation, INCIDENTS_DATABASE_URL=gone)
    assert status == 1
    assert table["database"][0] == "failing" and "cannot connect" in table["database"][1]
    assert table["keys"][0] == "warning" and "not checked" in table["keys"][1]
    assert table["evidence store"][0] == "warning"


def test_a_limiter_store_that_does_not_answer_fails_its_row(
    installation: Installation,
) -> None:
    with socket.socket() as held:  # bound, never listening: connecting is refused
        held.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{held.getsockname()[1]}/15"
        status, table = _check(installation, INCIDENTS_RATELIMIT_STORAGE_URI=closed)
    assert status == 1
    assert _statuses(table) == {**dict.fromkeys(COMPONENTS, "ok"), "rate limits": "failing"}
    assert "sign-in and the API are refused" in table["rate limits"][1]
    redis = require_redis()
    redis.close()
    status, table = _check(installation, INCIDENTS_RATELIMIT_STORAGE_URI=f"{REDIS_URL}/15")
    assert status == 0 and "answers" in table["rate limits"][1], table


def test_the_command_answers_a_table_and_one_line_without_a_traceback(
    installation: Installation,
) -> None:
    """The installed entry point, in a process of its own, with the database away."""
    env = command_environment(
        installation, INCIDENTS_DATABASE_URL="sqlite:////nonexistent/dir/x.db"
    )
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip().splitlines() == ["error: failing: database"]
    assert done.stdout.splitlines()[1].startswith("database        failing  cannot connect")


def _tamper_with_first_event(url: str) -> None:
    engine = create_engine(url)
    backend = engine.dialect.name
    with Session(engine) as session, session.begin():
        for statement in GUARDS[backend]:
            session.execute(text(statement))
        session.execute(
            text("UPDATE audit_events SET actor = 'someone else' WHERE id = 1"),
        )
    with Session(engine) as session:
        assert session.scalar(select(Evidence.id)) is not None  # the rest is untouched
    engine.dispose()
