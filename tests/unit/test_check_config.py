"""`incidents check-config`: a production configuration that is ready passes (exit 0);
one that is not lists every problem at once, one a line, each saying what to set, and
exits 1 with one line on stderr. The real command runs, against real files, a real
PostgreSQL and Redis, and a closed port for a store that does not answer."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from incidents.cli import cli
from incidents.settings import Settings
from tests.installation import Installation, command_environment, installation
from tests.security.conftest import REDIS_TEST_DB, REDIS_URL, require_redis

__all__ = ["installation"]  # a fixture: imported for pytest to find

ON_POSTGRES = pytest.mark.parametrize("fresh_database_url", ["postgresql"], indirect=True)
ENTRY_POINT = "from incidents.cli import main; main()"
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "production.example.toml"
# Given in the environment, never in a file: the secret key, or keys instead of a key file.
ENVIRONMENT_ONLY = {"secret_key", "master_key"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound by this test and never listening: connecting is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def production_env(installation: Installation, **changes: str | None) -> dict[str, str | None]:
    """The installation configured for production as the README says, with `changes`."""
    unset: dict[str, str | None] = {n: None for n in os.environ if n.startswith("INCIDENTS_")}
    return {
        **unset,
        **installation.env,
        "INCIDENTS_ENV": "production",
        "INCIDENTS_RATELIMIT_STORAGE_URI": f"{REDIS_URL}/{REDIS_TEST_DB}",
        "INCIDENTS_TRUSTED_PROXIES": "1",
        "INCIDENTS_EVIDENCE_STORE": "database",
        **changes,
    }


def check_config(env: dict[str, str | None], *arguments: str) -> Result:
    return CliRunner().invoke(cli, ["check-config", *arguments], env=env, catch_exceptions=False)


def problems(result: Result) -> list[str]:
    return [
        line.removeprefix("problem: ")
        for line in result.stdout.splitlines()
        if line.startswith("problem: ")
    ]


@ON_POSTGRES
def test_a_ready_production_configuration_passes(installation: Installation) -> None:
    require_redis().close()
    result = check_config(production_env(installation))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert problems(result) == []
    assert "ready for production" in result.stdout


def test_the_example_names_every_setting_but_the_secrets() -> None:
    with EXAMPLE.open("rb") as handle:
        example = tomllib.load(handle)
    settings = {field.name for field in dataclasses.fields(Settings)}
    assert set(example) == settings - ENVIRONMENT_ONLY
    assert example["env"] == "production"


@ON_POSTGRES
def test_the_example_with_its_secrets_and_this_servers_addresses_is_ready(
    installation: Installation,
) -> None:
    require_redis().close()
    env = production_env(installation, INCIDENTS_CONFIG=str(EXAMPLE))
    for name in ("ENV", "TRUSTED_PROXIES", "EVIDENCE_STORE"):  # the example's own values
        env[f"INCIDENTS_{name}"] = None
    env["INCIDENTS_AUDIT_LOG_ORIGIN"] = "incidents.example/audit-log"  # the installation's
    result = check_config(env)
    assert result.exit_code == 0, result.stdout + result.stderr


@ON_POSTGRES
def test_every_problem_is_listed_at_once_with_what_to_set(
    installation: Installation, closed_port: int, tmp_path: Path
) -> None:
    installation.key_file.chmod(0o644)
    not_a_folder = tmp_path / "instance-file"
    not_a_folder.write_text("a file where the instance folder should be")
    env = production_env(
        installation,
        INCIDENTS_SECRET_KEY="",
        INCIDENTS_AUDIT_SIGNING_KEY_FILE=str(tmp_path / "missing-audit.key"),
        INCIDENTS_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port}/0",
        INCIDENTS_REQUIRE_TWO_FACTOR="false",
        INCIDENTS_TRUSTED_PROXIES="0",
        INCIDENTS_INSTANCE_PATH=str(not_a_folder),
    )
    result = check_config(env)
    assert result.exit_code == 1
    found = problems(result)
    expected = [
        "production needs a secret key: set INCIDENTS_SECRET_KEY",
        "production requires two-factor authentication",
        f"has mode 0644: `chmod 600 {installation.key_file}`",
        "audit signing key file",
        f"rate-limit store redis://127.0.0.1:{closed_port}/0 does not answer PING",
        f"the instance folder {not_a_folder} is not a folder",
        "set INCIDENTS_TRUSTED_PROXIES=1",
    ]
    for fragment in expected:
        assert any(fragment in line for line in found), (fragment, found)
    assert len(found) == len(expected), found
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {len(expected)} problems: not ready for production"
    )


@ON_POSTGRES
def test_the_database_must_answer_and_be_migrated(
    installation: Installation, closed_port: int
) -> None:
    require_redis().close()
    gone = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/incidents"
    result = check_config(production_env(installation, INCIDENTS_DATABASE_URL=gone))
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert problem.startswith("database: cannot connect") and "INCIDENTS_DATABASE_URL" in problem


@ON_POSTGRES
def test_a_key_file_of_another_account_is_a_problem(installation: Installation) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another account needs root")
    require_redis().close()
    os.chown(installation.key_file, 65534, 65534)
    result = check_config(production_env(installation))
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "belongs to uid 65534" in problem and "chown" in problem


def test_env_production_applies_the_production_rules_to_another_environment(
    installation: Installation,
) -> None:
    env = {**production_env(installation), "INCIDENTS_ENV": "development"}
    env |= {"INCIDENTS_RATELIMIT_STORAGE_URI": "memory://", "INCIDENTS_EVIDENCE_STORE": "directory"}
    as_configured = check_config(env)
    assert as_configured.exit_code == 0, as_configured.stdout
    assert "ready for development" in as_configured.stdout
    as_production = check_config(env, "--env", "production")
    assert as_production.exit_code == 1
    found = problems(as_production)
    assert any("production runs on PostgreSQL" in line for line in found), found
    assert any("INCIDENTS_RATELIMIT_STORAGE_URI=redis://" in line for line in found), found


def test_a_directory_evidence_store_in_production_is_a_warning(
    installation: Installation,
) -> None:
    result = check_config(
        {**production_env(installation), "INCIDENTS_EVIDENCE_STORE": "directory"},
        "--env",
        "production",
    )
    assert any(
        line.startswith("warning: ") and 'evidence_store = "database"' in line
        for line in result.stdout.splitlines()
    ), result.stdout
    assert not any("evidence" in line for line in problems(result))


def test_settings_that_cannot_be_read_are_one_problem_and_one_line(
    installation: Installation, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("env = \n")
    env = command_environment(installation, INCIDENTS_CONFIG=str(broken))
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, "check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("problem: config file") and "not valid TOML" in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1
