"""A reference run of one command (uninterrupted, counted) and the kill points in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.consistency import State
from tests.faults.points import seeded_points
from tests.faults.world import EventCount, Installation

STATEMENT, WRITE, COMMIT = "statement", "write", "commit"


@dataclass(frozen=True)
class Reference:
    """What an uninterrupted run of a command counted and left behind."""

    count: EventCount
    state: State
    output: str = ""

    def point(self, seed: int, kind: str, nth: int, k: int) -> int:
        """The `nth` of `k` seeded kill points among this run's events of `kind`."""
        total = {
            STATEMENT: self.count.statements,
            WRITE: self.count.writes,
            COMMIT: self.count.commits,
        }[kind]
        points = seeded_points(seed, total, k)
        if nth >= len(points):
            pytest.skip(f"the run has only {total} {kind} events")
        print(f"seed {seed}: {kind} {points[nth]} of {total} (points {points})")
        return points[nth]


@dataclass
class Scenario:
    """A command, the installation it starts from, and its uninterrupted reference run."""

    base: Installation
    arguments: tuple[str, ...]
    reference: Reference
    made: list[Installation] = field(default_factory=list)

    def clone(self, root: Path) -> Installation:
        """A fresh copy of the starting installation, for one kill point."""
        copy = self.base.clone(root)
        self.made.append(copy)
        return copy


def scenarios(
    tmp_path_factory: pytest.TempPathFactory,
    world_of: Callable[[str], Installation],
    prepare: Callable[[Installation], tuple[str, ...]],
) -> Iterator[Callable[[str], Scenario]]:
    """For a module fixture: `scenario(backend)`, made once per backend from a clone of
    the world that `prepare(clone)` readies (returning the command's arguments); the
    reference run goes on a clone of that."""
    made: dict[str, Scenario] = {}

    def scenario(backend: str) -> Scenario:
        if backend not in made:
            folder = tmp_path_factory.mktemp(f"scenario-{backend}")
            base = world_of(backend).clone(folder / "base")
            arguments = prepare(base)
            run = base.clone(folder / "reference")
            count = run.count(*arguments)
            made[backend] = Scenario(base, arguments, Reference(count, run.check()), [run])
        return made[backend]

    yield scenario
    for each in made.values():
        for installation in [each.base, *each.made]:
            installation.drop()


def kill(installation: Installation, arguments: tuple[str, ...], kind: str, point: int) -> None:
    """Run the command killed at `point`, and say where (pytest -s shows it)."""
    installation.killed(*arguments, **{kind: point})
    print(f"killed `incidents {' '.join(arguments)}` before {kind} {point}")
