"""`incidents evidence add` killed at seeded points: the evidence row and its file
appear together or not at all (a file without a row is an orphan the sweep removes, and
the sweep never removes a file a row names); adding the file again adds it once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from incidents.models import AuditEvent
from tests.faults.consistency import State
from tests.faults.runs import STATEMENT, WRITE, Scenario, kill, scenarios
from tests.faults.world import Installation, evidence_text

pytestmark = pytest.mark.slow

ADD = ("evidence", "add", "RPT-2017-0003", "upload.txt", "--description", "a statement")
SWEEP = ("evidence", "sweep", "--older-than", "0s")
SEED = 65


def _file_to_add(base: Installation) -> tuple[str, ...]:
    (base.root / "upload.txt").write_bytes(evidence_text(99))
    return ADD  # the command runs in the installation's folder


@pytest.fixture(scope="module")
def uploading(
    tmp_path_factory: pytest.TempPathFactory, world_of: Callable[[str], Installation]
) -> Iterator[Callable[[str], Scenario]]:
    yield from scenarios(tmp_path_factory, world_of, _file_to_add)


def _one_more(state: State, world: State) -> None:
    assert sum(state.evidence.values()) == sum(world.evidence.values()) + 1
    assert not state.orphans and not state.partials


@pytest.mark.parametrize(
    ("kind", "nth", "k"),
    [(STATEMENT, 0, 1), (WRITE, 0, 2), (WRITE, 1, 2)],  # temporary, fsync, rename, folder fsync
)
def test_a_killed_upload_leaves_a_row_with_its_file_or_neither(
    uploading: Callable[[str], Scenario],
    world_state_of: Callable[[str], State],
    tmp_path: Path,
    kind: str,
    nth: int,
    k: int,
) -> None:
    scenario = uploading("sqlite")
    world = world_state_of("sqlite")
    _one_more(scenario.reference.state, world)
    point = scenario.reference.point(SEED, kind, nth, k)
    run = scenario.clone(tmp_path / "run")
    kill(run, scenario.arguments, kind, point)
    after_kill = run.check()  # every row's file is there, whole, and matches its hash
    assert after_kill.evidence == world.evidence, "an upload killed before its commit adds nothing"
    assert after_kill.records == world.records
    print(
        f"  after the kill: {len(after_kill.orphans)} unnamed files, "
        f"{len(after_kill.partials)} temporaries"
    )
    if after_kill.orphans or after_kill.partials:
        swept = run.incidents(*SWEEP)
        assert run.check().evidence == world.evidence  # nothing a row names was swept
        print(f"  sweep: {swept.stdout.strip().splitlines()[-1]}")
    again = run.incidents(*scenario.arguments)
    print(f"  re-run: {again.stdout.strip()}")
    state = run.check()
    _one_more(state, world)
    assert state.evidence == scenario.reference.state.evidence


def test_an_upload_killed_before_its_row_commits_leaves_an_orphan_the_sweep_removes(
    uploading: Callable[[str], Scenario], world_state_of: Callable[[str], State], tmp_path: Path
) -> None:
    scenario = uploading("sqlite")
    world = world_state_of("sqlite")
    run = scenario.clone(tmp_path / "run")
    # The last statement of the upload is its COMMIT: the file is whole and renamed.
    kill(run, scenario.arguments, STATEMENT, scenario.reference.count.statements)
    after_kill = run.check()
    assert len(after_kill.orphans) == 1 and after_kill.evidence == world.evidence
    (orphan,) = after_kill.orphans

    kept = run.incidents("evidence", "sweep")  # younger than the hour's grace: kept
    assert kept.stdout.strip().splitlines() == ["removed 0 unnamed files and 0 temporaries"]
    listed = run.incidents(*SWEEP, "--dry-run")
    assert f"would remove {orphan}: no evidence names it" in listed.stdout
    assert run.check().orphans == [orphan]

    swept = run.incidents(*SWEEP)
    assert swept.stdout.strip().splitlines() == [
        f"removed {orphan}: no evidence names it",
        "removed 1 unnamed files and 0 temporaries",
    ]
    state = run.check()  # the files rows name are all there and whole
    assert not state.orphans and state.evidence == world.evidence
    with run.context() as ctx:
        (event,) = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evidence.sweep")
        ).all()
        assert event.detail == {"orphans": 1, "temporaries": 0, "older_than_seconds": 0}
