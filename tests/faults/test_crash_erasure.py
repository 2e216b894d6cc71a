"""`incidents erase REF` killed at seeded points: the record is erased whole or not at
all; a file its erasure left behind is swept; the end state is the uninterrupted one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.consistency import State
from tests.faults.runs import STATEMENT, WRITE, Scenario, kill, scenarios
from tests.faults.world import Installation

pytestmark = pytest.mark.slow

ERASED = "RPT-2017-0001"  # a report with an evidence file: the file goes after the commit
ERASE = ("erase", ERASED, "--reason", "consent_withdrawn")
SWEEP = ("evidence", "sweep", "--older-than", "0s")
SEED = 53


@pytest.fixture(scope="module")
def erasing(
    tmp_path_factory: pytest.TempPathFactory, world_of: Callable[[str], Installation]
) -> Iterator[Callable[[str], Scenario]]:
    yield from scenarios(tmp_path_factory, world_of, lambda _base: ERASE)


def test_the_reference_erasure_shreds_the_report_and_its_file(
    erasing: Callable[[str], Scenario], world_state_of: Callable[[str], State]
) -> None:
    state = erasing("sqlite").reference.state
    world = world_state_of("sqlite")
    assert {reference for _t, _id, reference in state.erasures} == {ERASED, None}
    assert len(state.data_keys) == len(world.data_keys) - 2  # the report and its evidence
    assert not state.orphans and sum(state.evidence.values()) == sum(world.evidence.values())


@pytest.mark.parametrize(("kind", "nth", "k"), [(STATEMENT, 0, 1), (WRITE, 0, 1)])
def test_a_killed_erasure_is_whole_or_not_at_all(
    erasing: Callable[[str], Scenario],
    world_state_of: Callable[[str], State],
    tmp_path: Path,
    kind: str,
    nth: int,
    k: int,
) -> None:
    scenario = erasing("sqlite")
    world = world_state_of("sqlite")
    expected = scenario.reference.state
    point = scenario.reference.point(SEED, kind, nth, k)
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, kind, point)
    after_kill = run.check()
    erased = bool(after_kill.erasures)
    if erased:
        assert after_kill.records == expected.records
        assert after_kill.data_keys == expected.data_keys
    else:
        assert after_kill.records == world.records and after_kill.data_keys == world.data_keys
        assert not after_kill.orphans
    print(f"  after the kill: erased={erased}, {len(after_kill.orphans)} unnamed files")

    again = run.incidents(*scenario.arguments, ok=False)
    if erased:
        assert again.returncode == 1 and "already erased" in again.stderr, again.stderr
    else:
        assert again.returncode == 0, again.stderr
    print(f"  re-run: {(again.stdout or again.stderr).strip()}")
    if after_kill.orphans or after_kill.partials:
        swept = run.incidents(*SWEEP)
        print(f"  sweep: {' / '.join(swept.stdout.strip().splitlines())}")
    state = run.check()
    assert state.records == expected.records and state.erasures == expected.erasures
    assert state.data_keys == expected.data_keys and state.evidence == expected.evidence
    assert not state.orphans and not state.partials
