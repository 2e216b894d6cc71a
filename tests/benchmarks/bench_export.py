"""Benchmark of record exports: records per second and peak memory of `full` (every
secret decrypted) against `internal` (nothing decrypted), as JSON and as a ZIP of CSVs,
at two database sizes. Once a kind has more records than one batch (500), memory should
stay flat as the database grows four-fold (`--quick` stays under a batch: a smoke run).

Not a test: a script that prints a table. Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_export [--quick] [--cases N]

Each case is an incident, a person, their act and a report, each with its secret fields
(~0.5 KB of text), created through the services as a researcher's would be. Peak memory
is measured by tracemalloc in a second run of each export (tracing slows Python down, so
the timed run is untraced); the bytes are counted and dropped, as a download would.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from incidents.context import Context
from incidents.extensions import db, evidence_store
from incidents.models import Act, Incident, Person, Report, Team
from incidents.models.vocabularies import ActType, Channel, DatePrecision
from incidents.permissions import Operator
from incidents.redaction import Profile
from incidents.services import records
from incidents.services.export import start_export, write_export
from tests.benchmarks.bench_keys import make_app  # one throw-away installation for both

OPERATOR = Operator("benchmark")
TEXT = "Показания свидетеля: задержан у блокпоста, удерживался шесть дней. " * 4  # ~0.5 KB
COMMIT_EVERY = 200


class Discard:
    """A binary sink that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is kept, so nothing waits."""


def context(app: Any) -> Context:
    return Context.build(
        db.session,
        app.extensions["incidents.keys"],
        evidence_store(),
        app.config["INCIDENTS_SETTINGS"],
        OPERATOR,
    )


def add_cases(app: Any, count: int) -> None:
    """`count` more cases, each four records with their secrets sealed and audited."""
    with app.app_context():
        ctx = context(app)
        team = Team(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
        ctx.session.add(team)
        ctx.session.flush()
        for number in range(count):
            incident = records.insert(
                ctx,
                Incident(
                    team_id=team.id,
                    title=f"Detention at a checkpoint {number}",
                    country="RU",
                    start_date=date(2017, 3, 1),
                    start_precision=DatePrecision.MONTH,
                ),
                {"narrative": TEXT, "place_detail": "A checkpoint on the road north"},
            )
            person = records.insert(
                ctx, Person(team_id=team.id), {"full_name": f"Имя Фамилия {number}"}
            )
            records.insert(
                ctx,
                Act(
                    team_id=team.id,
                    person_id=person.id,
                    incident_id=incident.id,
                    act_type=ActType.DETAINED,
                ),
                {"notes": TEXT},
            )
            records.insert(
                ctx,
                Report(
                    team_id=team.id,
                    incident_id=incident.id,
                    title=f"Interview {number}",
                    received_on=date(2017, 4, 1),
                    channel=Channel.INTERVIEW,
                ),
                {"narrative": TEXT},
            )
            if number % COMMIT_EVERY == COMMIT_EVERY - 1:
                ctx.session.commit()
                ctx.session.expunge_all()
        ctx.session.commit()


def run_export(app: Any, profile: Profile, fmt: str) -> tuple[int, int]:
    """One export written to a sink that keeps nothing: (records, bytes)."""
    with app.app_context():
        ctx = context(app)
        plan = start_export(ctx, profile, fmt=fmt)
        ctx.session.commit()
        sink = Discard()
        counts = write_export(ctx, plan, sink)  # type: ignore[arg-type]
        return sum(counts.values()), sink.size


def measure(app: Any, profile: Profile, fmt: str) -> tuple[int, float, float, int]:
    """(records, seconds, peak MiB, bytes) of one export."""
    started = time.perf_counter()
    written, size = run_export(app, profile, fmt)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run_export(app, profile, fmt)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return written, seconds, peak / (1 << 20), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--cases", type=int, default=None, help="cases at the first size")
    arguments = parser.parse_args()
    first = arguments.cases or (150 if arguments.quick else 1_000)
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        app = make_app(Path(folder))
        print(
            f"{'cases':>7} {'profile':<9} {'format':<6} {'records':>8} {'seconds':>8} "
            f"{'records/s':>10} {'peak MiB':>9} {'MiB out':>8}"
        )
        made = 0
        for cases in (first, first * 4):
            add_cases(app, cases - made)
            made = cases
            for profile in (Profile.FULL, Profile.INTERNAL):
                for fmt in ("json", "csv"):
                    written, seconds, peak, size = measure(app, profile, fmt)
                    print(
                        f"{cases:>7} {profile.value:<9} {fmt:<6} {written:>8} {seconds:>8.2f} "
                        f"{written / seconds:>10,.0f} {peak:>9.1f} {size / (1 << 20):>8.1f}"
                    )
        with app.app_context():
            db.engine.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
