"""`incidents backup` and `incidents restore` killed (SIGKILL) at seeded points.

A killed backup leaves no archive at its name (at most its hidden `.partial` file) and
the installation untouched; the next backup succeeds and verifies. A killed restore
leaves the target without a single row, and running the same restore again succeeds,
with every record and evidence file as the archive holds them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backup.worlds import (
    all_rows,
    audit_events,
    but_the_last_events,
    empty_twin,
    restored_event,
    rows_held,
    run_here,
)
from tests.faults.points import seeded_points
from tests.faults.world import Installation, build_world

pytestmark = pytest.mark.slow

SEED = 2026


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crashes")


@pytest.fixture(scope="module")
def world(root: Path) -> Installation:
    return build_world(root / "world", "sqlite", cases=6, evidence=2)


@pytest.fixture(scope="module")
def archive(world: Installation, root: Path) -> Path:
    path = root / "reference.bak"
    world.incidents("backup", "-o", str(path))
    return path


def test_a_killed_backup_leaves_no_archive_and_the_next_one_succeeds(
    world: Installation, root: Path
) -> None:
    before = all_rows(world.database_url)
    counted = world.count("backup", "-o", str(root / "counted.bak"))
    # The statements are the snapshot's reads and the backup's audit event; the file
    # events, the copy, the archive's temporary file, its sync and its removal: a kill
    # lands in each part.
    points = [("statement", n) for n in seeded_points(SEED, counted.statements, 1)]
    points += [("write", n) for n in seeded_points(SEED, counted.writes, 2)]
    for kind, point in points:
        target = root / f"killed-at-{kind}-{point}.bak"
        world.killed("backup", "-o", str(target), **{kind: point})
        assert not target.exists(), f"a half archive at {target} (killed at {kind} {point})"
    # What changed is at most the backups' own events: the counted one, and one of a
    # backup killed after its event committed, just before its archive took its name.
    added = audit_events(world.database_url, after=len(before["audit_events"]))
    assert 1 <= len(added) <= 1 + len(points)
    assert {event["action"] for event in added} == {"backup.create"}
    after = but_the_last_events(all_rows(world.database_url), len(added))
    assert after == but_the_last_events(before, 0), "a killed backup changed the installation"
    again = root / "again.bak"
    for command in (("backup", "-o", str(again)), ("backup", "verify", str(again))):
        result = run_here(world, *command)
        assert result.returncode == 0, result.stderr


def test_a_killed_restore_leaves_the_target_empty_and_runs_again(
    world: Installation, archive: Path, root: Path
) -> None:
    # The world's last event is the archive's own backup.create, which the archive does
    # not hold; a restore's last event is its own backup.restore instead.
    rows, expected = all_rows(world.database_url), world.check()
    archived = {**rows, "audit_events": rows["audit_events"][:-1]}
    reference = empty_twin(world, root / "counted", "sqlite")
    counted = reference.count("restore", str(archive))
    # Statements: mostly the migrations, then the rows (a batch a statement), the audit
    # check; the restore's own COMMIT is the one before last, after every row and evidence
    # file is in (the last commits its audit event); file events: the evidence files
    # written before that commit.
    points = [("statement", n) for n in seeded_points(SEED, counted.statements, 2)]
    points += [("commit", counted.commits - 1)]
    points += [("write", n) for n in seeded_points(SEED, counted.writes, 1)]
    for kind, point in points:
        target = empty_twin(world, root / f"restore-{kind}-{point}", "sqlite")
        target.killed("restore", str(archive), **{kind: point})
        assert rows_held(target) == 0, f"rows left by a restore killed at {kind} {point}"
        result = run_here(target, "restore", str(archive))
        assert result.returncode == 0, f"after a kill at {kind} {point}: {result.stderr}"
        restored = but_the_last_events(all_rows(target.database_url), 1)
        assert restored == but_the_last_events(rows, 1)
        restored_event(target, archived)
    # The last point killed it among the evidence files: every file whole, none left over
    # (and as many events: the restore's own in place of the backup's).
    assert target.check() == expected
