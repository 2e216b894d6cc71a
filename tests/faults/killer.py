"""Run the `incidents` command and SIGKILL it at the N-th SQL statement or file event.

    python -m tests.faults.killer --at-statement N -- keys rotate --batch-size 3
    python -m tests.faults.killer --at-write N -- evidence add RPT-2017-0001 photo.png
    python -m tests.faults.killer --at-commit 1 -- keys rotate
    python -m tests.faults.killer --count -- import world.json

A statement is every SQL statement the process sends (SQLAlchemy's
`before_cursor_execute` on every Engine) and every COMMIT (the `commit` event), so a
kill can land just before a transaction commits. A file event is every call of
os.open for writing, os.fsync, os.replace, os.rename and os.unlink, so a kill can land
between a file's bytes and its rename, or between a rename and the row that names it.
A commit is a COMMIT alone (also counted as a statement). The process is killed
*before* the N-th event happens (1-based). `--count` runs the command uninterrupted and
prints the events it saw as the last line of stderr: `faults: statements=S writes=W
commits=C`. Nothing here is imported by the application itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

COUNT_PREFIX = "faults:"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Counter:
    """Counts events of one kind and kills this process before the `kill_at`-th."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at
        self.seen = 0

    def tick(self) -> None:
        self.seen += 1
        if self.kill_at is not None and self.seen >= self.kill_at:
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def count_statements(statements: Counter, commits: Counter) -> None:
    """Tick before every SQL statement and every COMMIT of every engine."""

    def before_statement(*_args: Any, **_kwargs: Any) -> None:
        statements.tick()

    def before_commit(*_args: Any, **_kwargs: Any) -> None:
        commits.tick()
        statements.tick()

    event.listen(Engine, "before_cursor_execute", before_statement)
    event.listen(Engine, "commit", before_commit)


def _ticking(counter: Counter, original: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        counter.tick()
        return original(*args, **kwargs)

    return call


def count_writes(counter: Counter) -> None:
    """Tick before every file created or opened for writing, fsync, rename and unlink."""
    original_open = os.open

    def opening(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & _WRITE_FLAGS:
            counter.tick()
        return original_open(path, flags, *args, **kwargs)

    os.open = opening
    for name in ("fsync", "replace", "rename", "unlink", "remove"):
        setattr(os, name, _ticking(counter, getattr(os, name)))


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.killer")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--at-statement", type=int, metavar="N")
    mode.add_argument("--at-write", type=int, metavar="N")
    mode.add_argument("--at-commit", type=int, metavar="N")
    mode.add_argument("--count", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- incidents arguments")
    parsed = parser.parse_args(argv)
    if parsed.command[:1] == ["--"]:
        parsed.command = parsed.command[1:]
    if not parsed.command:
        parser.error("give the incidents arguments after --")
    return parsed


def main(argv: list[str] | None = None) -> None:
    parsed = _arguments(sys.argv[1:] if argv is None else argv)
    statements = Counter(parsed.at_statement)
    writes = Counter(parsed.at_write)
    commits = Counter(parsed.at_commit)
    count_statements(statements, commits)
    count_writes(writes)
    sys.argv = ["incidents", *parsed.command]
    from incidents.cli import main as incidents_main

    try:
        incidents_main()
    finally:
        if parsed.count:
            sys.stderr.write(
                f"\n{COUNT_PREFIX} statements={statements.seen} writes={writes.seen} "
                f"commits={commits.seen}\n"
            )
            sys.stderr.flush()


if __name__ == "__main__":
    main()
