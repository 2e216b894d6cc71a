"""One small world per backend for the whole session; each fault point runs on a clone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.consistency import State
from tests.faults.world import Installation, build_world

CASES = 12  # 48 records with secrets: enough for several batches of a few each
EVIDENCE = 2

Clone = Callable[[str], Installation]


@pytest.fixture(scope="session")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Installation]]:
    """Worlds by backend, built when first asked for."""
    built: dict[str, Installation] = {}
    yield built
    for installation in built.values():
        installation.drop()


@pytest.fixture(scope="session")
def world_of(
    worlds: dict[str, Installation], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Installation]:
    """`world_of(backend)`: the session's world on that backend (never changed itself)."""

    def world(backend: str) -> Installation:
        if backend not in worlds:
            root = tmp_path_factory.mktemp(f"world-{backend}") / "installation"
            worlds[backend] = build_world(root, backend, CASES, EVIDENCE)
        return worlds[backend]

    return world


@pytest.fixture
def clone_of(tmp_path: Path, world_of: Callable[[str], Installation]) -> Iterator[Clone]:
    """`clone_of(backend)`: a copy of the world for this test alone, dropped afterwards."""
    made: list[Installation] = []

    def clone(backend: str) -> Installation:
        copy = world_of(backend).clone(tmp_path / f"clone-{len(made)}")
        made.append(copy)
        return copy

    yield clone
    for installation in made:
        installation.drop()


@pytest.fixture(scope="session")
def world_state_of(world_of: Callable[[str], Installation]) -> Callable[[str], State]:
    """`world_state_of(backend)`: what the world holds, checked once."""
    states: dict[str, State] = {}

    def state(backend: str) -> State:
        if backend not in states:
            states[backend] = world_of(backend).check()
        return states[backend]

    return state
