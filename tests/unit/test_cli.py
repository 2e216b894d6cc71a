"""The real `incidents` command in a subprocess (the README's "Using it"): exit status 0 on
success, otherwise non-zero with one line on stderr and never a traceback (security checks
8, 27).

Each run gets a clean environment: no INCIDENTS_* or FLASK_* variable of the caller, an
instance folder in tmp_path, and keys generated for the test.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from incidents.crypto.keys import generate_master_key, load_key_file, write_key_file

ENTRY_POINT = "from incidents.cli import main; main()"
COMMANDS = ["db", "demo", "export", "keys", "users", "teams", "run", "shell"]
UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
PASSWORD = "a long enough passphrase"


def clean_environment(instance: Path) -> dict[str, str]:
    """The caller's environment without INCIDENTS_* and FLASK_*, plus test keys."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("INCIDENTS_", "FLASK_"))
    }
    key = generate_master_key()
    environ.update(
        INCIDENTS_INSTANCE_PATH=str(instance),
        INCIDENTS_SECRET_KEY=secrets.token_urlsafe(48),
        INCIDENTS_MASTER_KEY=f"{key.key_id}:{base64.b64encode(key.material).decode('ascii')}",
    )
    return environ


def run(
    arguments: list[str], cwd: Path, environ: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, *arguments],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # a prompt fails instead of waiting
        timeout=120,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str], *names: str) -> str:
    """Non-zero exit and exactly one line on stderr, starting with error: or Error:."""
    assert result.returncode != 0, f"exited 0: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith(("error:", "Error:")), line
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def environ(workdir: Path) -> dict[str, str]:
    return clean_environment(workdir / "instance")


# -- help -------------------------------------------------------------------------------


def test_help_lists_the_commands(workdir: Path, environ: dict[str, str]) -> None:
    result = run(["--help"], workdir, environ)
    assert_ok(result)
    assert result.stderr == ""
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    missing = [name for name in COMMANDS if name not in listed]
    assert not missing, f"--help does not list {missing}:\n{result.stdout}"


def test_help_builds_no_app_and_generates_nothing(workdir: Path, environ: dict[str, str]) -> None:
    """Regression: --help used to build the app, writing development keys as it went."""
    del environ["INCIDENTS_SECRET_KEY"], environ["INCIDENTS_MASTER_KEY"]
    result = run(["--help"], workdir, environ)
    assert_ok(result)
    assert result.stderr == ""
    assert not (workdir / "instance").exists()


def test_help_works_with_a_broken_configuration(workdir: Path, environ: dict[str, str]) -> None:
    """Regression: a broken config file used to print a traceback under --help."""
    (workdir / "broken.toml").write_text('env = "development\n')
    environ["INCIDENTS_CONFIG"] = str(workdir / "broken.toml")
    result = run(["--help"], workdir, environ)
    assert_ok(result)
    assert result.stderr == ""
    assert "users" in result.stdout


# -- failures: one line, no traceback ---------------------------------------------------


def write_truncated_key_file(path: Path) -> None:
    key = generate_master_key()
    write_key_file(path, [key], key.key_id)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def write_development_key_file(path: Path) -> None:
    key = generate_master_key(development=True)
    write_key_file(path, [key], key.key_id)


@dataclass(frozen=True)
class Failure:
    """Environment changes (None removes a variable; {dir} is the working folder), files
    to write first, and what the one error line must name."""

    changes: dict[str, str | None]
    names: list[str]
    site_toml: str | None = None
    key_file: Callable[[Path], None] | None = None


SITE = {"INCIDENTS_CONFIG": "{dir}/site.toml"}
KEY_FILE = {"INCIDENTS_MASTER_KEY": None, "INCIDENTS_MASTER_KEY_FILE": "{dir}/master.key"}
PRODUCTION = {
    "INCIDENTS_ENV": "production",
    "INCIDENTS_DATABASE_URL": UNREACHABLE_DATABASE,
    "INCIDENTS_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
}

FAILURES = {
    "malformed config file": Failure(SITE, ["site.toml", "TOML"], site_toml='env = "x\n'),
    "unknown config key": Failure(SITE, ["colour"], site_toml="colour = 1\n"),
    "config file missing": Failure({"INCIDENTS_CONFIG": "{dir}/none.toml"}, ["none.toml"]),
    "bad env": Failure({"INCIDENTS_ENV": "prod"}, ["env"]),
    "not a database URL": Failure({"INCIDENTS_DATABASE_URL": "notaurl"}, ["database_url"]),
    "driver not installed": Failure(
        {"INCIDENTS_DATABASE_URL": "postgresql+psycopg2://u@127.0.0.1:1/d"}, ["psycopg2"]
    ),
    "unreachable database": Failure(
        {"INCIDENTS_DATABASE_URL": UNREACHABLE_DATABASE}, ["cannot connect", "127.0.0.1"]
    ),
    "unknown log level": Failure({"INCIDENTS_LOG_LEVEL": "LOUD"}, ["log_level"]),
    "missing master key file": Failure(KEY_FILE, ["master.key", "does not exist"]),
    "truncated master key file": Failure(
        KEY_FILE, ["master.key", "truncated"], key_file=write_truncated_key_file
    ),
    "malformed key variable": Failure({"INCIDENTS_MASTER_KEY": "mk-a:short"}, ["MASTER_KEY"]),
    "production with a development key": Failure(
        {**PRODUCTION, **KEY_FILE}, ["development key"], key_file=write_development_key_file
    ),
    "production without a secret key": Failure(
        {**PRODUCTION, "INCIDENTS_SECRET_KEY": None}, ["secret key"]
    ),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_configuration_failure_is_one_line(
    workdir: Path, environ: dict[str, str], failure: Failure
) -> None:
    for name, value in failure.changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value.format(dir=workdir)
    if failure.site_toml is not None:
        (workdir / "site.toml").write_text(failure.site_toml)
    if failure.key_file is not None:
        failure.key_file(workdir / "master.key")
    result = run(["db", "current"], workdir, environ)
    assert_one_line_error(result, *failure.names)
    assert result.stdout == ""


# -- keys generate ----------------------------------------------------------------------


def test_keys_generate_writes_an_owner_only_key_file_and_refuses_to_overwrite(
    workdir: Path, environ: dict[str, str]
) -> None:
    path = workdir / "keys" / "master.key"
    path.parent.mkdir()
    result = run(["keys", "generate", str(path)], workdir, environ)
    assert_ok(result)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    provider = load_key_file(path)
    assert not provider.is_development
    assert provider.primary().key_id in result.stdout
    assert base64.b64encode(provider.primary().material).decode() not in result.stdout
    before = path.read_bytes()

    again = run(["keys", "generate", str(path)], workdir, environ)
    assert_one_line_error(again, str(path), "overwrite")
    assert path.read_bytes() == before


# -- on a migrated SQLite database ------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """An instance folder with a migrated SQLite database, and `db current` from before."""
    workdir = tmp_path_factory.mktemp("migrated")
    environ = clean_environment(workdir / "instance")
    before = run(["db", "current"], workdir, environ)
    assert_ok(before)
    assert_ok(run(["db", "upgrade"], workdir, environ))
    yield workdir / "instance", before.stdout


@pytest.fixture
def database(migrated: tuple[Path, str], workdir: Path, environ: dict[str, str]) -> dict[str, str]:
    """A copy of the migrated instance folder for this test; returns its environment."""
    shutil.copytree(migrated[0], workdir / "instance")
    return environ


def test_db_current_before_and_after_upgrade(
    migrated: tuple[Path, str], workdir: Path, database: dict[str, str]
) -> None:
    assert "needs `incidents db upgrade`" in migrated[1]
    assert "up to date" not in migrated[1]
    result = run(["db", "current"], workdir, database)
    assert_ok(result)
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == "up to date"


def test_teams_and_users_are_created_and_listed(workdir: Path, database: dict[str, str]) -> None:
    created = run(["teams", "create", "north", "--name", "North Caucasus"], workdir, database)
    assert_ok(created)
    assert created.stdout.strip() == "created team north"
    user = run(
        [
            "users", "create",
            "--email", "Researcher@Example.org",
            "--name", "A Researcher",
            "--role", "researcher",
            "--team", "north",
            "--password", PASSWORD,
        ],
        workdir,
        database,
    )  # fmt: skip
    assert_ok(user)
    assert user.stderr == ""
    assert PASSWORD not in user.stdout
    listed = run(["users", "list"], workdir, database)
    assert_ok(listed)
    assert listed.stdout.splitlines() == [
        "researcher@example.org\troles=researcher\tteams=north\tactive\t2fa=off"
    ]


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["--password", "short"], ["12 characters"]),
        (["--password", PASSWORD, "--team", "nosuch"], ["nosuch"]),
    ],
    ids=["short password", "unknown team"],
)
def test_users_create_refusals_are_one_line_and_change_nothing(
    workdir: Path, database: dict[str, str], arguments: list[str], names: list[str]
) -> None:
    result = run(
        ["users", "create", "--email", "x@example.org", "--name", "X", *arguments],
        workdir,
        database,
    )
    assert_one_line_error(result, *names)
    listed = run(["users", "list"], workdir, database)
    assert_ok(listed)
    assert listed.stdout == ""


def test_internal_export_of_an_empty_database_is_valid_json(
    workdir: Path, database: dict[str, str]
) -> None:
    result = run(["export", "--profile", "internal"], workdir, database)
    assert_ok(result)
    document = json.loads(result.stdout)
    assert document["profile"] == "internal"
    assert "secret" not in document["field_classes"]
    assert all(rows == [] for rows in document["records"].values()), document["records"]
    # stderr: the progress bar (only its label when not on a terminal), then the summary.
    assert result.stderr.splitlines()[-1] == "exported 0 records (internal)"
    assert "{" not in result.stderr  # no JSON mixed into the progress stream


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["frobnicate"], ["frobnicate"]),
        (["export", "--profile", "secret"], ["--profile", "secret"]),
        (["users", "create"], ["--email"]),
    ],
    ids=["unknown-command", "bad-choice", "missing-option"],
)
def test_usage_errors_are_one_line(
    arguments: list[str], names: list[str], workdir: Path, environ: dict[str, str]
) -> None:
    result = run(arguments, workdir, environ)
    assert result.returncode == 2
    assert_one_line_error(result, *names)


def test_erase_shreds_once_and_refuses_twice(workdir: Path, database: dict[str, str]) -> None:
    assert_ok(run(["demo", "--no-serve"], workdir, database))
    erased = run(["erase", "PER-0002", "--reason", "consent_withdrawn"], workdir, database)
    assert_ok(erased)
    assert "erased PER-0002" in erased.stdout
    assert_one_line_error(
        run(["erase", "PER-0002", "--reason", "duplicate"], workdir, database), "already erased"
    )
    assert_one_line_error(
        run(["erase", "PER-9999", "--reason", "duplicate"], workdir, database), "PER-9999"
    )
    full = run(["export", "--profile", "full"], workdir, database)
    assert_ok(full)
    assert "Aslan Primerov" not in full.stdout  # PER-0002's name, fictional, now shredded
    assert "Movsar Demoev" in full.stdout  # the others are untouched


def test_keys_rotate_and_retire_from_the_command_line(
    workdir: Path, database: dict[str, str]
) -> None:
    key_file = workdir / "rotating.key"
    assert_ok(run(["keys", "generate", str(key_file)], workdir, database))
    database = {k: v for k, v in database.items() if k != "INCIDENTS_MASTER_KEY"}
    database["INCIDENTS_MASTER_KEY_FILE"] = str(key_file)
    assert_ok(run(["demo", "--no-serve"], workdir, database))
    old = run(["keys", "status"], workdir, database).stdout.split()[0]
    rotated = run(["keys", "rotate", "--batch-size", "5"], workdir, database)
    assert_ok(rotated)
    status = run(["keys", "status"], workdir, database).stdout
    assert f"{old}\theld\t0 data keys" in status
    refused = run(["keys", "retire", old], workdir, database)  # the index still uses it
    assert_one_line_error(refused, "blind-index entries")
    assert_ok(run(["keys", "reindex"], workdir, database))
    assert_ok(run(["keys", "retire", old], workdir, database))
    assert old not in run(["keys", "status"], workdir, database).stdout
    assert "Movsar Demoev" in run(["export", "--profile", "full"], workdir, database).stdout
