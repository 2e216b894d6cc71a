"""`incidents import FILE` killed at seeded points: all or nothing, so the database is as
it was, and importing the file again imports every record of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.consistency import State
from tests.faults.runs import STATEMENT, Scenario, kill, scenarios
from tests.faults.world import Installation, write_world

pytestmark = pytest.mark.slow

IMPORTED_CASES = 6
SEED = 41


def _file_to_import(base: Installation) -> tuple[str, ...]:
    write_world(base.root / "more.json", IMPORTED_CASES, tag="b")
    return ("import", "more.json")  # the command runs in the installation's folder


@pytest.fixture(scope="module")
def importing(
    tmp_path_factory: pytest.TempPathFactory, world_of: Callable[[str], Installation]
) -> Iterator[Callable[[str], Scenario]]:
    yield from scenarios(tmp_path_factory, world_of, _file_to_import)


@pytest.mark.parametrize(("backend", "nth", "k"), [("sqlite", 0, 1), ("postgresql", 0, 1)])
def test_a_killed_import_leaves_nothing_and_imports_again(
    importing: Callable[[str], Scenario],
    world_state_of: Callable[[str], State],
    tmp_path: Path,
    backend: str,
    nth: int,
    k: int,
) -> None:
    scenario = importing(backend)
    world = world_state_of(backend)
    expected = scenario.reference.state
    assert len(expected.records) == len(world.records) + 4 * IMPORTED_CASES
    point = scenario.reference.point(SEED, STATEMENT, nth, k)
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, STATEMENT, point)
    after_kill = run.check()
    assert after_kill.records == world.records
    assert set(after_kill.data_keys) == set(world.data_keys)
    print("  after the kill: nothing imported")

    again = run.incidents(*scenario.arguments)
    print(f"  re-run: {again.stdout.strip().splitlines()[-1]}")
    state = run.check()
    assert state.records == expected.records
    assert set(state.data_keys) == set(expected.data_keys)
    assert state.blind_index == expected.blind_index
