"""`incidents keys reindex` killed at seeded points, after a new primary key: each batch
is whole or not there, and running it again gives every entry under the new key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from incidents.crypto.keys import load_key_file
from incidents.services import keys
from tests.faults.consistency import State
from tests.faults.runs import STATEMENT, Scenario, kill, scenarios
from tests.faults.world import Installation

pytestmark = pytest.mark.slow

REINDEX = ("keys", "reindex", "--batch-size", "5")  # 24 indexed records: five batches
SEED = 29


def _new_primary(base: Installation) -> tuple[str, ...]:
    with base.context() as ctx:
        keys.add_primary_key(ctx)
        ctx.session.commit()
    return REINDEX


@pytest.fixture(scope="module")
def reindexing(
    tmp_path_factory: pytest.TempPathFactory, world_of: Callable[[str], Installation]
) -> Iterator[Callable[[str], Scenario]]:
    yield from scenarios(tmp_path_factory, world_of, _new_primary)


def _on_primary(installation: Installation, state: State) -> set[str]:
    primary = load_key_file(installation.key_file).primary().key_id
    return {key_id for _name, _table, _id, key_id, _value in state.blind_index} - {primary}


def test_the_reference_reindex_moves_every_entry(
    reindexing: Callable[[str], Scenario], world_state_of: Callable[[str], State]
) -> None:
    scenario = reindexing("sqlite")
    state = scenario.reference.state
    assert state.blind_index and not _on_primary(scenario.made[0], state)
    assert len(state.blind_index) == len(world_state_of("sqlite").blind_index)


@pytest.mark.parametrize("nth", [0, 1])
def test_a_killed_reindex_resumes(
    reindexing: Callable[[str], Scenario],
    world_state_of: Callable[[str], State],
    tmp_path: Path,
    nth: int,
) -> None:
    scenario = reindexing("sqlite")
    world = world_state_of("sqlite")
    point = scenario.reference.point(SEED, STATEMENT, nth, 2)
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, STATEMENT, point)
    after_kill = run.check()
    assert after_kill.records == world.records
    # Each record keeps a whole set of entries, under the old key or the new one.
    per_record: dict[tuple[str, str], set[str]] = {}
    for _name, table, record_id, key_id, _value in after_kill.blind_index:
        per_record.setdefault((table, record_id), set()).add(key_id)
    assert all(len(key_ids) == 1 for key_ids in per_record.values())
    assert len(after_kill.blind_index) == len(world.blind_index)
    print(f"  after the kill: {len(_on_primary(run, after_kill))} other key(s) still index")

    again = run.incidents(*scenario.arguments)
    print(f"  re-run: {again.stdout.strip()}")
    assert run.check().blind_index == scenario.reference.state.blind_index
