"""Benchmark of imports: records per second and peak memory of importing a `full` export
into an empty installation, at two sizes. Memory should stay flat as the file grows:
documents are read one at a time and let go every few hundred rows.

Not a test: a script that prints a table. Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_import [--cases N]

The file is made by the export benchmark's cases (an incident, a person, their act and a
report, each with ~0.5 KB of secret text) exported `full` as JSON; it is imported at the
command line's level (the operator), all or nothing, as `incidents import` would. Peak
memory is measured by tracemalloc in a second import into another empty installation
(tracing slows Python down, so the timed run is untraced).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from incidents.redaction import Profile
from incidents.services.export import start_export, write_export
from incidents.services.imports import plan_import
from tests.benchmarks.bench_export import add_cases, context
from tests.benchmarks.bench_keys import make_app


def export_file(cases: int, workdir: Path) -> tuple[Path, int]:
    """A `full` JSON export of `cases` generated cases: (its path, its records)."""
    source = make_app(workdir / "source")
    add_cases(source, cases)
    path = workdir / "export.json"
    with source.app_context():
        ctx = context(source)
        plan = start_export(ctx, Profile.FULL, fmt="json")
        ctx.session.commit()
        with path.open("w", encoding="utf-8") as out:
            counts = write_export(ctx, plan, out)
    return path, sum(counts.values())


def run_import(path: Path, workdir: Path) -> int:
    """Import `path` into a new empty installation in `workdir`; the records created."""
    target = make_app(workdir)
    with target.app_context():
        ctx = context(target)
        with path.open("rb") as source:
            outcome = plan_import(ctx, source, fmt="json", name=path.name)
        if outcome.errors:
            raise SystemExit(f"the import failed: {outcome.errors[:3]}")
        ctx.session.commit()
        created = sum(counts.created for counts in outcome.counts.values())
        return created


def measure(cases: int) -> tuple[int, int, float, float]:
    """(records, file bytes, seconds, peak MiB) of importing an export of `cases`."""
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        for name in ("source", "timed", "traced"):
            (workdir / name).mkdir()
        path, _records = export_file(cases, workdir)
        started = time.perf_counter()
        created = run_import(path, workdir / "timed")
        seconds = time.perf_counter() - started
        tracemalloc.start()
        run_import(path, workdir / "traced")
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return created, path.stat().st_size, seconds, peak / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=500, help="cases at the smaller size")
    arguments = parser.parse_args()
    rows: list[tuple[int, Any, Any, Any, Any]] = []
    for cases in (arguments.cases, arguments.cases * 4):
        rows.append((cases, *measure(cases)))
    print(f"{'cases':>7} {'records':>8} {'file MiB':>9} {'records/s':>10} {'peak MiB':>9}")
    for cases, created, size, seconds, peak in rows:
        print(
            f"{cases:>7} {created:>8} {size / (1 << 20):>9.1f} "
            f"{created / seconds:>10.0f} {peak:>9.1f}"
        )
    small, large = rows[0], rows[-1]
    print(f"memory growth for {large[0] / small[0]:.0f}× the records: {large[4] / small[4]:.2f}×")


if __name__ == "__main__":
    main()
