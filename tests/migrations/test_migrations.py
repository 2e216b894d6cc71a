"""Migrations are code with tests (README: "Tests"), on SQLite and PostgreSQL.

The head revision must build exactly the schema the models describe, every revision must
go up, down and up again, and the files must keep the naming and a real downgrade().
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from pprint import pformat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Engine, inspect, text

import incidents.models  # noqa: F401  (fills Base.metadata)
from incidents import migrate
from incidents.db import Base
from incidents.extensions import make_engine
from incidents.paths import data_dir

BOTH_BACKENDS = pytest.mark.parametrize(
    "fresh_database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
FILE_NAME = re.compile(r"(?P<date>\d{8}_\d{4})_(?P<rev>[0-9a-f]+)_(?P<slug>[a-z0-9_]+)\.py")
VERSIONS = data_dir("migrations") / "versions"


def _scripts() -> list[Script]:
    """Every revision, oldest first."""
    directory = ScriptDirectory(str(data_dir("migrations")))
    return list(reversed(list(directory.walk_revisions())))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@BOTH_BACKENDS
def test_head_matches_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert not diff, "the migrations at head differ from the models:\n" + pformat(diff)


@BOTH_BACKENDS
def test_every_revision_goes_up_down_and_up_again(engine: Engine) -> None:
    directory = ScriptDirectory.from_config(migrate.alembic_config(engine))
    revisions = [script.revision for script in reversed(list(directory.walk_revisions()))]
    assert revisions, "no migration found"
    for revision in revisions:
        migrate.upgrade(engine, revision)
        assert migrate.current_revision(engine) == revision
        tables_up = _tables(engine)
        migrate.downgrade(engine, "-1")
        below = directory.get_revision(revision).down_revision
        assert migrate.current_revision(engine) == below, f"downgrade from {revision}"
        migrate.upgrade(engine, revision)
        assert migrate.current_revision(engine) == revision, f"re-upgrade to {revision}"
        assert _tables(engine) == tables_up, f"{revision}: a second upgrade built other tables"
    assert revisions[-1] == migrate.head_revision(engine)
    assert set(Base.metadata.tables) <= _tables(engine)

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    left = _tables(engine) - {"alembic_version"}
    assert not left, f"tables left behind after downgrading to base: {sorted(left)}"


LOCK_VERSIONS = "7e258efdc24b"


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


@BOTH_BACKENDS
def test_lock_versions_start_at_one_for_existing_rows_and_go_on_downgrade(
    engine: Engine,
) -> None:
    directory = ScriptDirectory.from_config(migrate.alembic_config(engine))
    before = directory.get_revision(LOCK_VERSIONS).down_revision
    assert isinstance(before, str)
    migrate.upgrade(engine, before)
    assert "lock_version" not in _columns(engine, "organisations")
    organisation = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, name, kind, created_at) "
                "VALUES (:id, 'An NGO', 'ngo', :at)"
            ),
            {
                "id": organisation.hex if engine.dialect.name == "sqlite" else organisation,
                "at": datetime(2017, 4, 1, tzinfo=UTC).isoformat(sep=" "),
            },
        )
    migrate.upgrade(engine, LOCK_VERSIONS)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT lock_version FROM organisations")).all()
    assert [tuple(row) for row in versions] == [(1,)], "an existing row starts at version 1"
    for table in ("persons", "sources", "reports", "consents", "acts", "involvements"):
        column = next(c for c in inspect(engine).get_columns(table) if c["name"] == "lock_version")
        assert column["nullable"] is False, table
    migrate.downgrade(engine, before)
    assert "lock_version" not in _columns(engine, "organisations")
    assert "lock_version" not in _columns(engine, "persons")
    with engine.connect() as connection:  # the row itself stays
        assert connection.execute(text("SELECT count(*) FROM organisations")).scalar_one() == 1


def _clean_environment(instance: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    environment["INCIDENTS_INSTANCE_PATH"] = str(instance)
    return environment


def _incidents(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("incidents")), *arguments]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=_clean_environment(tmp_path / "instance"),
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


@pytest.mark.slow
def test_db_commands_upgrade_report_and_downgrade(tmp_path: Path) -> None:
    head = _scripts()[-1].revision

    upgraded = _incidents(tmp_path, "db", "upgrade")
    assert f"database at revision {head}" in upgraded.stdout
    database = tmp_path / "instance" / "incidents.db"
    assert database.is_file(), "db upgrade did not create the SQLite file in the instance folder"

    current = _incidents(tmp_path, "db", "current")
    assert f"current: {head}" in current.stdout
    assert "up to date" in current.stdout

    downgraded = _incidents(tmp_path, "db", "downgrade", "base")
    assert "base (empty)" in downgraded.stdout

    after = _incidents(tmp_path, "db", "current")
    assert "none (empty database)" in after.stdout
    assert "needs `incidents db upgrade`" in after.stdout

    engine = make_engine(f"sqlite:///{database}")
    try:
        assert _tables(engine) - {"alembic_version"} == set()
    finally:
        engine.dispose()


def test_migration_files_are_named_and_dated() -> None:
    scripts = {Path(script.path).name: script for script in _scripts()}
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert sorted(scripts) == files, "a file in migrations/versions is not a revision"
    previous = ""
    for script in _scripts():
        name = Path(script.path).name
        match = FILE_NAME.fullmatch(name)
        assert match, f"{name} does not follow YYYYMMDD_HHMM_<rev>_<slug>.py"
        assert match["rev"] == script.revision, f"{name} names another revision"
        stamp = match["date"]
        datetime.strptime(stamp, "%Y%m%d_%H%M")  # a real date and time
        assert stamp >= previous, f"{name} is dated before the revision it follows"
        previous = stamp


def _body_without_docstring(function: ast.FunctionDef) -> list[ast.stmt]:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


@pytest.mark.parametrize("script", _scripts(), ids=lambda s: s.revision)
def test_every_migration_has_a_real_downgrade(script: Script) -> None:
    tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "downgrade" in functions, f"{script.path} has no downgrade()"
    body = _body_without_docstring(functions["downgrade"])
    trivial = all(
        isinstance(statement, ast.Pass)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in body
    )
    assert not trivial, f"{Path(script.path).name}: downgrade() does nothing"
    calls = [
        node
        for node in ast.walk(functions["downgrade"])
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"op", "batch_op"}
    ]
    assert calls, f"{Path(script.path).name}: downgrade() never calls op.*"
