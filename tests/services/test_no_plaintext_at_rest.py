"""Canary check (security check 2): after the demo seeds, no secret value is at rest in
plaintext — not in any file of the instance folder, not in a PostgreSQL dump, not in the
commands' output.

The secret values are found, not listed: every string the `full` export has and the
`internal` one lacks (same record, a field only `full` carries). The full export is
written outside the instance folder, and must itself contain them, so the check can fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from incidents.crypto import envelope
from incidents.crypto.keys import load_key_file
from incidents.models import DataKey
from tests.conftest import CHANCE_MATCH, PostgresDatabase, skip_without_postgres

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
MIN_SECRETS = 30
# The SQLite database and its journal files follow the umask; everything else in the
# instance folder (key files, evidence) must be private to the owner.
DATABASE_FILE = re.compile(r"incidents\.db(-wal|-shm|-journal)?")


@dataclass
class Seeded:
    instance: Path
    full_text: str
    internal_text: str
    secrets: set[str]
    output: str  # stdout and stderr of every command run


# -- helpers ----------------------------------------------------------------------------


def run_incidents(
    workdir: Path, *arguments: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    environment["INCIDENTS_INSTANCE_PATH"] = str(workdir / "instance")
    if database_url is not None:
        environment["INCIDENTS_DATABASE_URL"] = database_url
    script = Path(sys.executable).with_name("incidents")
    assert script.exists(), f"console script not found next to {sys.executable}"
    result = subprocess.run(
        [str(script), *arguments],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"`incidents {' '.join(arguments)}` exited {result.returncode}:\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def secret_values(full: dict[str, Any], internal: dict[str, Any]) -> set[str]:
    """Strings in fields that `full` carries and `internal` lacks, record by record."""
    found: set[str] = set()
    for table, full_rows in full["records"].items():
        internal_rows = internal["records"].get(table, [])
        by_id = {row["id"]: row for row in internal_rows if "id" in row}
        for index, row in enumerate(full_rows):
            if "id" in row:
                twin = by_id.get(row["id"])
            else:
                twin = internal_rows[index] if index < len(internal_rows) else None
            assert twin is not None, f"{table}: a record of the full export is not in internal"
            for field in set(row) - set(twin):
                found.update(_strings(row[field]))
    return {v for v in found if len(v) >= 4 and not CHANCE_MATCH.fullmatch(v)}


def leaks(data: bytes, values: set[str]) -> list[str]:
    return sorted(
        f"{value!r} ({encoding})"
        for value in values
        for encoding in ENCODINGS
        if value.encode(encoding) in data
    )


def seed_and_export(workdir: Path, database_url: str | None = None) -> Seeded:
    exports = workdir / "exports"  # outside the instance folder
    exports.mkdir()
    runs = [
        run_incidents(workdir, "demo", "--no-serve", database_url=database_url),
        run_incidents(
            workdir,
            "export",
            "--profile",
            "full",
            "-o",
            str(exports / "full.json"),
            database_url=database_url,
        ),
        run_incidents(
            workdir,
            "export",
            "--profile",
            "internal",
            "-o",
            str(exports / "internal.json"),
            database_url=database_url,
        ),
    ]
    full_text = (exports / "full.json").read_text(encoding="utf-8")
    internal_text = (exports / "internal.json").read_text(encoding="utf-8")
    secrets = secret_values(json.loads(full_text), json.loads(internal_text))
    return Seeded(
        instance=workdir / "instance",
        full_text=full_text,
        internal_text=internal_text,
        secrets=secrets,
        output="\n".join(run.stdout + run.stderr for run in runs),
    )


def instance_files(instance: Path) -> list[Path]:
    return sorted(path for path in instance.rglob("*") if path.is_file())


def _as_json(value: str) -> str:
    """`value` as the export file spells it (newlines and quotes escaped)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def check_the_canaries_are_real(seeded: Seeded) -> None:
    assert len(seeded.secrets) > MIN_SECRETS, (
        f"only {len(seeded.secrets)} secret values found; the check would prove little: "
        f"{sorted(seeded.secrets)}"
    )
    missing = sorted(v for v in seeded.secrets if _as_json(v) not in seeded.full_text)
    assert not missing, f"values not in the full export: {missing}"
    in_internal = sorted(v for v in seeded.secrets if _as_json(v) in seeded.internal_text)
    assert not in_internal, f"secret values in the internal export: {in_internal}"


def check_instance_folder(seeded: Seeded) -> None:
    files = instance_files(seeded.instance)
    assert files, f"nothing in the instance folder {seeded.instance}"
    found = {}
    for path in files:
        leaked = leaks(path.read_bytes(), seeded.secrets)
        if leaked:
            found[str(path.relative_to(seeded.instance))] = leaked
    assert not found, f"plaintext secrets at rest in the instance folder: {found}"


# -- SQLite -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_and_export(tmp_path_factory.mktemp("canary-sqlite"))


@pytest.mark.slow
def test_the_secret_values_are_many_and_only_in_the_full_export(sqlite_seeded: Seeded) -> None:
    check_the_canaries_are_real(sqlite_seeded)
    assert "Movsar Demoev (fictional)" in sqlite_seeded.secrets  # a person's full name


@pytest.mark.slow
def test_no_secret_in_any_file_of_the_sqlite_instance(sqlite_seeded: Seeded) -> None:
    names = {path.name for path in instance_files(sqlite_seeded.instance)}
    assert "incidents.db" in names, f"no SQLite database among {sorted(names)}"
    check_instance_folder(sqlite_seeded)


@pytest.mark.slow
def test_the_sqlite_database_holds_the_public_values(sqlite_seeded: Seeded) -> None:
    """The search looks at real data: a public value is there in plaintext."""
    data = (sqlite_seeded.instance / "incidents.db").read_bytes()
    assert b"Stonewall UK" in data
    assert "We Exist — international day of action".encode() in data


@pytest.mark.slow
def test_instance_files_are_private_to_the_owner(sqlite_seeded: Seeded) -> None:
    instance = sqlite_seeded.instance
    assert stat.S_IMODE(instance.stat().st_mode) & 0o077 == 0, "instance folder open to others"
    for name in ("master.key", "secret_key"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {mode:o}, not 600"
    exposed = {
        str(path.relative_to(instance)): f"{stat.S_IMODE(path.stat().st_mode):o}"
        for path in instance.rglob("*")
        if not DATABASE_FILE.fullmatch(path.name) and stat.S_IMODE(path.stat().st_mode) & 0o077
    }
    assert not exposed, f"readable by group or others: {exposed}"


@pytest.mark.slow
def test_no_secret_in_the_commands_output(sqlite_seeded: Seeded) -> None:
    leaked = leaks(sqlite_seeded.output.encode("utf-8"), sqlite_seeded.secrets)
    assert not leaked, f"secret values printed by the commands: {leaked}"


# -- PostgreSQL -------------------------------------------------------------------------


@dataclass
class SeededPostgres:
    seeded: Seeded
    dump: bytes
    key_material: list[bytes]


@pytest.fixture(scope="module")
def postgres_seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededPostgres]:
    skip_without_postgres()
    database = PostgresDatabase("canary")
    try:
        seeded = seed_and_export(tmp_path_factory.mktemp("canary-postgres"), database.url)
        libpq_url = make_url(database.url).set(drivername="postgresql")
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--dbname", libpq_url.render_as_string(hide_password=False)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert dump.returncode == 0, f"pg_dump failed: {dump.stderr.decode(errors='replace')}"
        yield SeededPostgres(seeded, dump.stdout, key_material(seeded.instance, database.url))
    finally:
        database.drop()


@pytest.mark.slow
@pytest.mark.postgres
def test_no_secret_in_a_postgresql_dump(postgres_seeded: SeededPostgres) -> None:
    seeded, dump = postgres_seeded.seeded, postgres_seeded.dump
    check_the_canaries_are_real(seeded)
    # The dump is real: public values are in it, in plaintext.
    assert b"177000" in dump
    assert b"Stonewall UK" in dump
    assert b"COPY public.persons" in dump
    leaked = leaks(dump, seeded.secrets)
    assert not leaked, f"plaintext secrets in the pg_dump: {leaked}"


@pytest.mark.slow
@pytest.mark.postgres
def test_no_secret_in_the_postgresql_instance_folder_or_output(
    postgres_seeded: SeededPostgres,
) -> None:
    seeded = postgres_seeded.seeded
    names = {path.name for path in instance_files(seeded.instance)}
    assert "incidents.db" not in names, "the demo wrote to SQLite, not to PostgreSQL"
    check_instance_folder(seeded)
    leaked = leaks(seeded.output.encode("utf-8"), seeded.secrets)
    assert not leaked, f"secret values printed by the commands: {leaked}"


# -- key material (security check 8) ----------------------------------------------------


def key_material(instance: Path, database_url: str) -> list[bytes]:
    """Every master key of the instance's key file and every data key it unwraps, as the
    raw bytes and in the printable forms a leak would take (base64, hex)."""
    provider = load_key_file(instance / "master.key")
    masters = [provider.get(key_id) for key_id in provider.key_ids()]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                DataKey.record_table,
                DataKey.record_id,
                DataKey.team_id,
                DataKey.master_key_id,
                DataKey.wrapped_key,
            )
        ).all()
    engine.dispose()
    raw = [master.material for master in masters] + [
        envelope.unwrap_data_key(provider.get(key_id), wrapped, table, record_id, team_id)
        for table, record_id, team_id, key_id, wrapped in rows
    ]
    assert len(raw) > 20, "the demo made data keys to look for"
    return [form for key in raw for form in (key, base64.b64encode(key), key.hex().encode())]


def key_leaks(data: bytes, material: list[bytes]) -> int:
    return sum(1 for key in material if key in data)


@pytest.mark.slow
def test_no_key_material_in_the_database_files_or_output(sqlite_seeded: Seeded) -> None:
    url = f"sqlite:///{sqlite_seeded.instance / 'incidents.db'}"
    material = key_material(sqlite_seeded.instance, url)
    # The check can fail: the key file itself holds the master key in base64.
    assert key_leaks((sqlite_seeded.instance / "master.key").read_bytes(), material) > 0
    for path in instance_files(sqlite_seeded.instance):
        if path.name in ("master.key", "secret_key"):
            continue
        assert key_leaks(path.read_bytes(), material) == 0, f"key material in {path.name}"
    assert key_leaks(sqlite_seeded.output.encode(), material) == 0
    assert key_leaks(sqlite_seeded.full_text.encode(), material) == 0  # nor in exports


@pytest.mark.slow
@pytest.mark.postgres
def test_no_key_material_in_a_postgresql_dump(postgres_seeded: SeededPostgres) -> None:
    assert key_leaks(postgres_seeded.dump, postgres_seeded.key_material) == 0
