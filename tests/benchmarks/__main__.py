"""The benchmark command: generated archives imported, exported and browsed, at several
sizes, on SQLite and PostgreSQL, each figure against a baseline measured in the same run.

    .venv/bin/python -m tests.benchmarks [--sizes 10k,100k,1m] [--databases sqlite,postgresql]
        [--quick] [--pages incident_list,...] [--repeat N] [--json FILE] [--markdown]

For each database and size, an archive of that many reports (tests/benchmarks/
generate.py, the same seed every run) is imported through the import service into two
empty installations: once with the field layer's encryption switched off (the
baseline), once as it runs. The encrypted one is then exported (`full`, every secret
decrypted, against `internal`, nothing decrypted) and browsed signed in as a researcher
of the largest team and of the smallest (tests/benchmarks/pages.py), each page against
a bare endpoint of the same application. With several sizes, each page's p95 at the
largest is set against its p95 at the smallest. Progress goes to stderr, the table to
stdout. Not a test: the figures depend on the machine, and say so in the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from incidents.redaction import Profile
from tests.benchmarks import figures as fig
from tests.benchmarks import generate, installation, pages
from tests.benchmarks.bench_export import run_export
from tests.benchmarks.figures import Figure

IMPORT_GOAL = 1.25  # encryption may cost at most a quarter more time on import
GROWTH_GOAL = 1.5
WARM_UP_REPORTS = 20  # a page's p95 may grow at most by half from the smallest to the largest


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ImportBar:
    """An import's progress on stderr: rows done of the archive's records."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.perf_counter()

    def __call__(self, rows: int) -> None:
        self.done += rows
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        print(
            f"\r  {self.label}: {self.done:,}/{self.total:,} records ({rate:,.0f}/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        print(file=sys.stderr, flush=True)


class Run:
    """One database at one size: the measurements, as figures."""

    def __init__(self, database: str, size: str, archive: Path, records: int, root: Path) -> None:
        self.database, self.size, self.archive = database, size, archive
        self.records, self.root = records, root
        self.figures: list[Figure] = []

    def figure(self, measure: str, value: float, unit: str, **more: object) -> None:
        self.figures.append(Figure(self.database, self.size, measure, value, unit, **more))  # type: ignore[arg-type]

    def imported(
        self, label: str, plain: bool
    ) -> tuple[installation.Installation, float, float, float]:
        """A new installation with the archive imported: (it, records/s, records per CPU
        second, peak MiB)."""
        target = installation.make_installation(self.database, self.root)
        pages.add_floor(target.app)
        installation.add_teams_and_users(target)
        bar = ImportBar(f"{self.database} {self.size} {label}", self.records)
        with (
            installation.plaintext_fields() if plain else contextlib.nullcontext(),
            installation.PeakMemory() as memory,
        ):
            created, elapsed = installation.timed(
                lambda: installation.import_archive(target, self.archive, bar)
            )
        bar.close()
        return target, created / elapsed.wall, created / elapsed.cpu, memory.mib

    def imports(self) -> installation.Installation:
        plain, plain_rate, plain_cpu, plain_memory = self.imported("import, encryption off", True)
        plain.close()
        target, rate, cpu, memory = self.imported("import", plain=False)
        self.figure(
            "import records/s",
            rate,
            "records/s",
            baseline_name="encryption off",
            baseline=plain_rate,
            higher_is_better=True,
            goal=IMPORT_GOAL,
            note=f"{self.records:,} records of {generate.size(self.size):,} reports; "
            f"per CPU second of this process {cpu:,.0f} vs {plain_cpu:,.0f} "
            f"({plain_cpu / cpu:.2f}×)",
        )
        self.figure(
            "import peak memory",
            memory,
            "MiB",
            baseline_name="encryption off",
            baseline=plain_memory,
            note="resident, above the start",
        )
        return target

    def exports(self, target: installation.Installation) -> None:
        say(f"  {self.database} {self.size}: exports")
        rates: dict[Profile, float] = {}
        peaks: dict[Profile, float] = {}
        for _run in range(2):  # the better of two runs of each: a busy machine's noise
            for profile in (Profile.INTERNAL, Profile.FULL):
                with installation.PeakMemory() as memory:
                    (written, size), elapsed = installation.timed(
                        functools.partial(run_export, target.app, profile, "json")
                    )
                rates[profile] = max(rates.get(profile, 0.0), written / elapsed.wall)
                peaks[profile] = max(peaks.get(profile, 0.0), memory.mib)
        self.figure(
            "full export records/s",
            rates[Profile.FULL],
            "records/s",
            baseline_name="internal export",
            baseline=rates[Profile.INTERNAL],
            higher_is_better=True,
            note=f"{written:,} records, {size / (1 << 20):,.1f} MiB JSON",
        )
        self.figure(
            "full export peak memory",
            peaks[Profile.FULL],
            "MiB",
            baseline_name="internal export",
            baseline=peaks[Profile.INTERNAL],
            note="resident, above the start",
        )

    def browse(
        self, target: installation.Installation, chosen: tuple[str, ...], repeat: int
    ) -> None:
        for team in (pages.BIG_TEAM, pages.SMALL_TEAM):
            timings = pages.time_pages(
                target, team, ("floor", *chosen), repeat, lambda page: say(f"  page {page}")
            )
            floor = timings[0]
            self.figure(
                f"bare endpoint ({_team_label(team)}) p95",
                floor.p95_ms,
                "ms",
                note=f"{floor.statements} statements",
            )
            for timing in timings[1:]:
                for quantile, value, base in (
                    ("p50", timing.p50_ms, floor.p50_ms),
                    ("p95", timing.p95_ms, floor.p95_ms),
                ):
                    self.figure(
                        f"{timing.page} ({_team_label(team)}) {quantile}",
                        value,
                        "ms",
                        baseline_name="bare endpoint",
                        baseline=base,
                        note=f"{timing.statements} statements",
                    )


def _team_label(team: str) -> str:
    return "big team" if team == pages.BIG_TEAM else "small team"


def archive_for(size: str, seed: int, folder: Path) -> tuple[Path, int, Figure]:
    """The archive of `size` reports (made once per run, shared by the databases), and
    how fast it was made."""
    path = folder / f"archive-{size}-{seed}.json"
    reports = generate.size(size)
    last = [0.0]

    def bar(done: int) -> None:
        if time.perf_counter() - last[0] > 0.5 or done == reports:
            last[0] = time.perf_counter()
            print(f"\r  generating {size}: {done:,}/{reports:,} reports", end="", file=sys.stderr)

    counts, elapsed = installation.timed(lambda: generate.generate(path, reports, seed, bar))
    records = sum(counts.values())
    say(f"\n  {records:,} records generated ({records / elapsed.wall:,.0f} records/s)")
    made = Figure(
        "-",
        size,
        "archive generation records/s",
        records / elapsed.wall,
        "records/s",
        note=f"{path.stat().st_size / (1 << 20):,.1f} MiB, "
        f"{records / elapsed.cpu:,.0f} per CPU second",
    )
    return path, records, made


def measure(arguments: argparse.Namespace) -> list[Figure]:
    sizes: list[str] = arguments.sizes
    chosen = tuple(arguments.pages)
    found: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        root = Path(folder)
        if arguments.warm_up:
            warm_up(arguments.databases, root)
        for size in sizes:
            archive, records, made = archive_for(size, arguments.seed, root)
            found.append(made)
            for database in arguments.databases:
                say(f"{database}, {size} reports")
                run = Run(database, size, archive, records, root)
                target = run.imports()
                try:
                    run.exports(target)
                    if chosen:
                        run.browse(target, chosen, arguments.repeat)
                finally:
                    target.close()
                found += run.figures
            archive.unlink()
    return found + fig.growth(found, sizes, GROWTH_GOAL)


def warm_up(databases: list[str], root: Path) -> None:
    """A small import, export and page of each kind, untimed, before anything is timed:
    the first of each in a process pays for loading modules, configuring mappers and
    compiling templates, which a running server has done long before."""
    say("warming up")
    archive = root / "warm-up.json"
    generate.generate(archive, WARM_UP_REPORTS, seed=0)
    for database in databases:
        target = installation.make_installation(database, root)
        pages.add_floor(target.app)
        installation.add_teams_and_users(target)
        installation.import_archive(target, archive)
        for profile in (Profile.INTERNAL, Profile.FULL):
            run_export(target.app, profile, "json")
        pages.time_pages(target, pages.BIG_TEAM, pages.PAGES, repeat=1)
        target.close()
    archive.unlink()


def _list(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)}; use {', '.join(allowed)}"
            )
        return items

    return parse


def _sizes(text: str) -> list[str]:
    sizes = [item.strip().lower() for item in text.split(",") if item.strip()]
    try:
        counts = [generate.size(item) for item in sizes]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes are counts of reports: 1000, 10k, 1m, not {text}"
        ) from None
    if not sizes or min(counts) < 20:
        raise argparse.ArgumentTypeError("give sizes of at least 20 reports")
    return sorted(sizes, key=generate.size)


def arguments_from(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=None, help="reports: 1k,5k (the default)")
    parser.add_argument("--quick", action="store_true", help="1k reports, 5 runs of each page")
    parser.add_argument(
        "--databases", type=_list(installation.BACKENDS), default=list(installation.BACKENDS)
    )
    parser.add_argument("--pages", type=_list(pages.PAGES[1:]), default=list(pages.PAGES[1:]))
    parser.add_argument("--repeat", type=int, default=None, help="runs of each page (20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-warm-up", dest="warm_up", action="store_false", help="time cold (a smoke run)"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    arguments = parser.parse_args(argv)
    arguments.sizes = arguments.sizes or (["1k"] if arguments.quick else ["1k", "5k"])
    arguments.repeat = max(1, arguments.repeat or (5 if arguments.quick else 20))
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = arguments_from(argv)
    if "postgresql" in arguments.databases and not installation.postgres_available():
        url = installation.POSTGRES_ADMIN_URL
        say(f"PostgreSQL at {url} is not reachable: start it, or give --databases sqlite")
        return 1
    try:
        found = measure(arguments)
    except (RuntimeError, OSError) as error:
        say(f"the benchmark stopped: {error}")
        return 1
    print(fig.table(found, markdown=arguments.markdown))
    if arguments.json is not None:
        settings = {k: v for k, v in vars(arguments).items() if k not in ("json",)}
        fig.write_json(arguments.json, found, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
