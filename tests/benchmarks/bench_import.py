"""Benchmark of imports: records per second and peak memory of importing a `full` export
into an empty installation, at two sizes. Memory should stay flat as the file grows:
documents are read one at a time and let go every few hundred rows.

Not a test: a script that prints a table. Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_import [--cases N] [--database postgresql]

The file is made by the export benchmark's cases (an incident, a person, their act and a
report, each with ~0.5 KB of secret text) exported `full` as JSON; it is imported at the
command line's level (the operator), all or nothing, as `incidents import` would. Peak
memory is measured by tracemalloc in a second import into another empty installation
(tracing slows Python down, so the timed run is untraced). The time is the import's and
its commit's, not the making of the installation; `--database postgresql` imports into a
throw-away PostgreSQL database (the file is made on SQLite either way).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from incidents import create_app, migrate
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.extensions import db
from incidents.redaction import Profile
from incidents.services.export import start_export, write_export
from incidents.services.imports import plan_import
from tests.benchmarks.bench_export import add_cases, context

POSTGRES_ADMIN_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def export_file(cases: int, workdir: Path) -> tuple[Path, int]:
    """A `full` JSON export of `cases` generated cases: (its path, its records)."""
    source = _app(workdir / "source", f"sqlite:///{workdir / 'source' / 'bench.db'}")
    add_cases(source, cases)
    path = workdir / "export.json"
    with source.app_context():
        ctx = context(source)
        plan = start_export(ctx, Profile.FULL, fmt="json")
        ctx.session.commit()
        with path.open("w", encoding="utf-8") as out:
            counts = write_export(ctx, plan, out)
    return path, sum(counts.values())


@contextlib.contextmanager
def installation(workdir: Path, backend: str) -> Iterator[Any]:
    """A new empty installation in `workdir`, on SQLite or on a throw-away PostgreSQL
    database (dropped afterwards)."""
    if backend == "sqlite":
        yield _app(workdir, f"sqlite:///{workdir / 'bench.db'}")
        return
    name = f"incidents_bench_import_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # the name is ours, not input
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        app = _app(workdir, url.render_as_string(hide_password=False))
        yield app
        with app.app_context():
            db.engine.dispose()
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _app(workdir: Path, database_url: str) -> Any:
    """An application on `database_url` migrated to head, with its own key file."""
    key_path = workdir / "master.key"
    key = generate_master_key()
    write_key_file(key_path, [key], key.key_id)
    app = create_app(
        {
            "env": "testing",
            "instance_path": str(workdir),
            "database_url": database_url,
            "secret_key": secrets.token_urlsafe(48),
            "master_key_file": str(key_path),
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine)
    return app


def run_import(path: Path, workdir: Path, backend: str = "sqlite") -> tuple[int, float, float]:
    """Import `path` into a new empty installation in `workdir`: the records created, and
    the seconds the import took (its commit included, making the installation not) on the
    clock and of this process's CPU (what a busy machine's other work does not inflate)."""
    with installation(workdir, backend) as target, target.app_context():
        ctx = context(target)
        started, cpu = time.perf_counter(), time.process_time()
        with path.open("rb") as source:
            outcome = plan_import(ctx, source, fmt="json", name=path.name)
        if outcome.errors:
            raise SystemExit(f"the import failed: {outcome.errors[:3]}")
        ctx.session.commit()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return sum(counts.created for counts in outcome.counts.values()), seconds, cpu


def measure(cases: int, backend: str = "sqlite") -> tuple[int, int, float, float, float]:
    """(records, file bytes, seconds, CPU seconds, peak MiB) of importing an export of
    `cases`."""
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        for name in ("source", "timed", "traced"):
            (workdir / name).mkdir()
        path, _records = export_file(cases, workdir)
        created, seconds, cpu = run_import(path, workdir / "timed", backend)
        tracemalloc.start()
        run_import(path, workdir / "traced", backend)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return created, path.stat().st_size, seconds, cpu, peak / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=500, help="cases at the smaller size")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite", help="imported into"
    )
    arguments = parser.parse_args()
    rows: list[tuple[int, Any, Any, Any, Any, Any]] = []
    for cases in (arguments.cases, arguments.cases * 4):
        rows.append((cases, *measure(cases, arguments.database)))
    print(f"imported into {arguments.database}")
    print(
        f"{'cases':>7} {'records':>8} {'file MiB':>9} {'records/s':>10} "
        f"{'per CPU s':>10} {'peak MiB':>9}"
    )
    for cases, created, size, seconds, cpu, peak in rows:
        print(
            f"{cases:>7} {created:>8} {size / (1 << 20):>9.1f} "
            f"{created / seconds:>10.0f} {created / cpu:>10.0f} {peak:>9.1f}"
        )
    small, large = rows[0], rows[-1]
    print(f"memory growth for {large[0] / small[0]:.0f}× the records: {large[5] / small[5]:.2f}×")


if __name__ == "__main__":
    main()
