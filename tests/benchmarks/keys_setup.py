"""What the key and field benchmarks share: a throw-away installation, a call context, rates
measured so that a busy machine touches a figure and its baseline alike, and printing.

Rates are operations per CPU second of this process, measured in turns: every operation
of a comparison runs for a short round, then the next, and the best round of each is
kept. Load from other processes that comes and goes then slows all of them alike, and
waiting for a core is not counted as work.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from incidents import create_app, migrate
from incidents.context import Context
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.extensions import db, evidence_store
from incidents.models import User
from incidents.permissions import Operator

OPERATOR = Operator("benchmark")
FIELD_VALUE = "Показания свидетеля: задержан у блокпоста, удерживался шесть дней. " * 4  # ~0.5 KB
ROUNDS = 5
ROUND_SECONDS = 0.2


def _one_round(operation: Callable[[], Any], seconds: float) -> float:
    count, started = 0, time.process_time()
    while (elapsed := time.process_time() - started) < seconds:
        for _ in range(100):
            operation()
        count += 100
    return count / elapsed


def rates(
    operations: Mapping[str, Callable[[], Any]],
    rounds: int = ROUNDS,
    seconds: float = ROUND_SECONDS,
) -> dict[str, float]:
    """Operations per CPU second of each operation, the best of `rounds` taken in turns."""
    best = dict.fromkeys(operations, 0.0)
    for _ in range(rounds):
        for name, operation in operations.items():
            best[name] = max(best[name], _one_round(operation, seconds))
    return best


@dataclasses.dataclass(frozen=True)
class Elapsed:
    """Seconds on the wall clock and of this process's CPU (SQLite works in-process)."""

    wall: float
    cpu: float


class Stopwatch:
    """Times a block on both clocks: `with Stopwatch() as watch: ...; watch.elapsed`."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.elapsed = Elapsed(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def report(
    name: str, value: float, unit: str, baseline: float | None = None, note: str = ""
) -> None:
    ratio = f"  ({value / baseline:6.1%} of baseline)" if baseline else ""
    print(f"  {name:<48} {value:>14,.0f} {unit}{ratio}{'  ' + note if note else ''}")


def goal(text: str, met: bool) -> None:
    print(f"  goal: {text}: {'met' if met else 'NOT MET'}")


def make_app(workdir: Path) -> Any:
    """An application on a new SQLite database in `workdir`, migrated, with a key file."""
    key_path = workdir / "master.key"
    key = generate_master_key()
    write_key_file(key_path, [key], key.key_id)
    app = create_app(
        {
            "env": "testing",
            "instance_path": str(workdir),
            "database_url": f"sqlite:///{workdir / 'bench.db'}",
            "secret_key": secrets.token_urlsafe(48),
            "master_key_file": str(key_path),
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine)
    return app


def context(app: Any, principal: User | Operator = OPERATOR, **settings: Any) -> Context:
    """A call context on the session of the current application context; `settings`
    replace single settings."""
    configured = app.config["INCIDENTS_SETTINGS"]
    return Context.build(
        db.session,
        app.extensions["incidents.keys"],
        evidence_store(),
        dataclasses.replace(configured, **settings) if settings else configured,
        principal,
    )
