"""What an erased record leaves in a backup taken before it was erased.

Erasure deletes the record's data key and its evidence files. An archive made earlier
still holds both, and restoring it with the same master key brings the record back
readable: the archive is a copy of the past. Once the master key the archive's own key
derives from is rotated out and retired, the archive cannot be opened at all, so the
erased record never comes back readable from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from incidents.models import Evidence, Report
from tests.backup.worlds import all_rows, empty_twin, one_line_refusal, rows_held, run_here
from tests.faults.world import Installation, build_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("erasure")


@pytest.fixture(scope="module")
def world(root: Path) -> Installation:
    return build_world(root / "world", "sqlite", cases=3, evidence=1)


def _report_with_evidence(world: Installation) -> tuple[str, str]:
    with world.context() as ctx:
        report = ctx.session.scalars(
            select(Report).join(Evidence, Evidence.report_id == Report.id)
        ).first()
        assert report is not None
        return report.reference, str(report.id)


def _ok(world: Installation, *arguments: str) -> str:
    result = run_here(world, *arguments)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_an_old_backup_brings_an_erased_record_back_until_its_master_key_is_retired(
    world: Installation, root: Path
) -> None:
    reference, report_id = _report_with_evidence(world)
    where = ("reports", report_id)
    before = world.check()
    archive = root / "before-erasure.bak"
    old_key = _ok(world, "backup", "-o", str(archive)).split("master key ")[1].split(";")[0]

    _ok(world, "erase", reference, "--reason", "other", "--note", "the witness withdrew consent")
    erased = world.check()
    assert where not in erased.records or erased.records[where] != before.records[where]
    assert not erased.evidence.keys() & {k for k in before.evidence if k[0] == report_id}

    # (a) Same keys, fresh installation: the old archive restores the record readable,
    # its evidence file with it, and no tombstone says it was ever erased.
    same_keys = empty_twin(world, root / "same-keys", "sqlite")
    _ok(same_keys, "restore", str(archive))
    restored = same_keys.check()
    assert restored.records[where] == before.records[where]
    assert {k for k in restored.evidence if k[0] == report_id}
    assert not restored.erasures
    assert not [row for row in all_rows(same_keys.database_url)["erasures"]]

    # (b) Rotate, re-index, retire the old key: the archive can no longer be opened.
    _ok(world, "keys", "rotate")
    _ok(world, "keys", "reindex")
    _ok(world, "keys", "retire", old_key)
    world.check()  # the live installation: the erased record stays erased
    retired = empty_twin(world, root / "after-retirement", "sqlite")
    for command in (("backup", "verify", str(archive)), ("restore", str(archive))):
        line = one_line_refusal(run_here(retired, *command))
        assert f"encrypted under master key {old_key}, which this installation does not hold" in (
            line
        )
    assert rows_held(retired) == 0
