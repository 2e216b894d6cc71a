"""`incidents keys rotate` killed at seeded points: every data key still unwraps to the
same material, and running the same command again finishes the rotation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from incidents.audit.actions import AuditAction
from incidents.crypto.keys import load_key_file
from incidents.models import AuditEvent
from tests.faults.consistency import State
from tests.faults.runs import COMMIT, STATEMENT, WRITE, Scenario, kill, scenarios
from tests.faults.world import Installation

pytestmark = pytest.mark.slow

ROTATE = ("keys", "rotate", "--batch-size", "7")  # 50 data keys: eight batches
SEED = 13


@pytest.fixture(scope="module")
def rotation(
    tmp_path_factory: pytest.TempPathFactory, world_of: Callable[[str], Installation]
) -> Iterator[Callable[[str], Scenario]]:
    yield from scenarios(tmp_path_factory, world_of, lambda _base: ROTATE)


def _rotated(installation: Installation, state: State, world: State) -> None:
    """Every data key under the primary, each the same material as before, every record
    as it was, every key held logged."""
    primary = load_key_file(installation.key_file).primary().key_id
    assert {master for master, _digest in state.data_keys.values()} == {primary}
    assert state.key_material() == world.key_material()
    assert state.records == world.records
    _every_new_key_logged(installation, world)


def _every_new_key_logged(installation: Installation, world: State) -> None:
    """No key wraps anything, or could, without its `keys.add` event in the log."""
    with installation.context() as ctx:
        added = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == str(AuditAction.KEYS_ADD))
        )
        logged = {event.detail["key_id"] for event in added}
    initial = {master for master, _digest in world.data_keys.values()}
    unlogged = set(load_key_file(installation.key_file).key_ids()) - initial - logged
    assert not unlogged, f"keys held without a keys.add event: {unlogged}"


def test_the_reference_rotation_moves_every_key(
    rotation: Callable[[str], Scenario], world_state_of: Callable[[str], State]
) -> None:
    scenario = rotation("sqlite")
    _rotated(scenario.made[0], scenario.reference.state, world_state_of("sqlite"))


@pytest.mark.parametrize(
    ("backend", "kind", "nth", "k"),
    [
        ("sqlite", STATEMENT, 0, 2),
        ("sqlite", STATEMENT, 1, 2),
        ("sqlite", WRITE, 0, 1),  # the key file: temporary, fsync, rename, folder fsync
        ("postgresql", STATEMENT, 0, 2),
        ("postgresql", STATEMENT, 1, 2),
    ],
)
def test_a_killed_rotation_loses_nothing_and_resumes(
    rotation: Callable[[str], Scenario],
    world_state_of: Callable[[str], State],
    tmp_path: Path,
    backend: str,
    kind: str,
    nth: int,
    k: int,
) -> None:
    scenario = rotation(backend)
    world = world_state_of(backend)
    point = scenario.reference.point(SEED, kind, nth, k)
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, kind, point)
    after_kill = run.check()
    assert after_kill.key_material() == world.key_material()  # no data key lost or changed
    assert after_kill.records == world.records
    held = load_key_file(run.key_file).key_ids()
    assert set(held) >= {m for m, _ in after_kill.data_keys.values()}
    _every_new_key_logged(run, world)
    moved = sum(1 for m, _ in after_kill.data_keys.values() if m == held[0])
    print(f"  after the kill: {len(held)} keys held, {moved} data keys on the primary")

    again = run.incidents(*scenario.arguments)
    print(f"  re-run: {again.stdout.strip()}")
    _rotated(run, run.check(), world)


def test_a_rotation_killed_before_its_first_commit_holds_no_unlogged_key(
    rotation: Callable[[str], Scenario], world_state_of: Callable[[str], State], tmp_path: Path
) -> None:
    """The first COMMIT is the new key's audit event: killed there, the key file is as it
    was (the key is written only once its event is in the log)."""
    scenario = rotation("sqlite")
    world = world_state_of("sqlite")
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, COMMIT, 1)
    after_kill = run.check()
    assert after_kill.data_keys == world.data_keys
    assert len(load_key_file(run.key_file).key_ids()) == 1
    run.incidents(*scenario.arguments)
    _rotated(run, run.check(), world)
