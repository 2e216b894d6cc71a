"""Backups made while the application runs, restored after the installation is lost, on
SQLite and PostgreSQL and from one onto the other: every row and every plaintext comes
back exactly, evidence files included; archives that are damaged, cut short, of another
installation or restored over data are refused in one line and change nothing."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidents.crypto.keys import StaticKeyProvider, generate_master_key
from incidents.services.backup.archive import BackupError, encrypting_writer
from incidents.services.backup.manifest import HEADER_MEMBER, ContentHeader
from incidents.services.backup.restore import load_archive
from incidents.services.backup.tables import current_layouts
from tests.backup.worlds import (
    EVIDENCE,
    Rows,
    all_rows,
    audit_events,
    backup_here,
    but_the_last_events,
    destroy,
    empty_twin,
    one_line_refusal,
    restore_target,
    restored_event,
    rich_world,
    rows_held,
    run_here,
)
from tests.faults.consistency import State
from tests.faults.world import ENTRY_POINT, Installation, write_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backups")


@pytest.fixture(scope="module")
def world(root: Path) -> Installation:
    return rich_world(root / "world", "sqlite")


@pytest.fixture(scope="module")
def before(world: Installation) -> tuple[Rows, State]:
    """Every row, and every plaintext, the world held when it was backed up."""
    return all_rows(world.database_url), world.check()


def restored_state(state: State) -> State:
    """What a restore of an archive of `state` holds: the same, and its own event."""
    return dataclasses.replace(state, audit_events=state.audit_events + 1)


@pytest.fixture(scope="module")
def archive(world: Installation, before: object, root: Path) -> Path:
    path = root / "world.bak"
    result = world.incidents("backup", "-o", str(path))
    assert result.stdout.startswith(f"wrote {path}: "), result.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(root.glob(".*.partial")), "the temporary file was left behind"
    assert not list(world.instance.glob(".backup-snapshot-*")), "the snapshot copy stayed"
    return path


@pytest.fixture(scope="module")
def on_postgresql(world: Installation, archive: Path, root: Path) -> Iterator[Installation]:
    """The SQLite world's archive restored onto an empty PostgreSQL database. The restore
    happens here, not in a test, so that every test of the moved installation finds it
    whatever worker runs it and in whatever order."""
    twin = empty_twin(world, root / "postgresql", "postgresql")
    twin.incidents("restore", str(archive))
    yield twin
    twin.drop()


@pytest.fixture(scope="module")
def moved(
    on_postgresql: Installation, before: tuple[Rows, State]
) -> tuple[Rows, State, dict[str, Any]]:
    """Every row and plaintext of the moved installation right after its restore, and the
    restore's own event (checked against what the archive held)."""
    rows = all_rows(on_postgresql.database_url)
    return rows, on_postgresql.check(), restored_event(on_postgresql, before[0])


def test_every_table_holds_rows_so_the_round_trip_covers_them(
    before: tuple[Rows, State],
) -> None:
    rows, state = before
    empty = sorted(name for name, found in rows.items() if not found)
    # A few bookkeeping tables (sessions, drafts, the audit queue once integrated) stay empty.
    assert len(empty) <= 7, empty
    assert len(state.evidence) == EVIDENCE + 1 and state.records  # the demo brings one


def test_a_backup_records_one_event_naming_no_path_and_no_secret(
    world: Installation, archive: Path, before: tuple[Rows, State]
) -> None:
    rows, state = before
    held = len(rows["audit_events"])
    (event,) = audit_events(world.database_url, after=held)
    assert (event["id"], event["action"]) == (held + 1, "backup.create"), event
    assert event["actor"].startswith("cli:") and event["target_id"] is None
    detail = event["detail"]
    with world.context() as ctx:
        master = ctx.keys.primary()
    assert detail == {
        "format": "incidents-backup/1",
        "database": "sqlite",
        "revision": detail["revision"],
        "created_at": detail["created_at"],
        "tables": len(rows),
        "rows": sum(len(found) for found in rows.values()),
        "evidence_files": EVIDENCE + 1,
        "bytes": archive.stat().st_size,
        "audit_tree_size": held,
        "master_key_id": master.key_id,
    }
    written = json.dumps(event)
    named = [str(archive), archive.name, archive.stem, str(world.root), world.root.name]
    assert not [name for name in named if name in written]
    plaintexts = {
        str(value)
        for values in state.records.values()
        for value in values.values()
        if value is not None and len(str(value)) >= 6
    }
    assert plaintexts and not [value for value in plaintexts if value in written]
    keys = json.loads(world.key_file.read_text())["keys"]
    assert not [key["key"] for key in keys if key["key"] in written]
    files = [(digest, name) for (_report, digest, _size, name) in state.evidence]
    assert not [part for pair in files for part in pair if part and part in written]


def test_a_lost_sqlite_installation_comes_back_whole(
    world: Installation, archive: Path, before: tuple[Rows, State]
) -> None:
    rows, state = before
    destroy(world)
    result = world.incidents("restore", str(archive))
    assert "the audit log verifies against the archive's signed checkpoint" in result.stdout
    assert but_the_last_events(all_rows(world.database_url), 1) == but_the_last_events(rows, 0)
    detail = restored_event(world, rows)
    assert detail["evidence_files"] == EVIDENCE + 1 and detail["database"] == "sqlite"
    assert world.check() == restored_state(state)


def test_the_archive_verifies_and_says_what_it_holds(world: Installation, archive: Path) -> None:
    result = run_here(world, "backup", "verify", str(archive))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {archive} of "), result.stdout
    assert f"{EVIDENCE + 1} evidence files match the manifest" in result.stdout
    assert "audit events match its signed checkpoint" in result.stdout


def test_a_sqlite_archive_restores_onto_postgresql(
    on_postgresql: Installation,
    moved: tuple[Rows, State, dict[str, Any]],
    before: tuple[Rows, State],
) -> None:
    rows, state = before
    restored, restored_check, event = moved
    assert but_the_last_events(restored, 1) == but_the_last_events(rows, 0)
    assert event["database"] == "sqlite"  # the archive's kind, restored onto PostgreSQL
    assert restored_check == restored_state(state)
    # The moved installation carries on: a new import appends to the restored log.
    on_postgresql.incidents(
        "import", str(write_world(on_postgresql.root / "more.json", 2, tag="m"))
    )
    on_postgresql.check()


def test_two_backups_at_once_on_postgresql_while_it_is_written_to_both_hold_and_verify(
    on_postgresql: Installation, root: Path
) -> None:
    """Each takes its own snapshot and its own temporary file; the import committed
    meanwhile (onto the log restored from SQLite) is in neither or whole in one, and
    both verify."""
    writer = write_world(root / "during.json", 8, tag="d")
    targets = [root / "first.bak", root / "second.bak"]
    commands = [["import", str(writer)], *(["backup", "-o", str(t)] for t in targets)]
    running = [
        subprocess.Popen(
            [sys.executable, "-c", ENTRY_POINT, *command],
            env=on_postgresql.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    for process in running:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    for target in targets:
        result = run_here(on_postgresql, "backup", "verify", str(target))
        assert result.returncode == 0, result.stderr


def test_a_lost_postgresql_installation_comes_back_whole(
    on_postgresql: Installation, root: Path
) -> None:
    path = root / "postgresql.bak"
    rows, state = all_rows(on_postgresql.database_url), on_postgresql.check()
    assert run_here(on_postgresql, "backup", "-o", str(path)).returncode == 0
    (event,) = audit_events(on_postgresql.database_url, after=len(rows["audit_events"]))
    assert event["action"] == "backup.create" and event["detail"]["database"] == "postgresql"
    destroy(on_postgresql)
    assert run_here(on_postgresql, "restore", str(path)).returncode == 0
    restored = all_rows(on_postgresql.database_url)
    assert but_the_last_events(restored, 1) == but_the_last_events(rows, 0)
    restored_event(on_postgresql, rows)
    assert on_postgresql.check() == restored_state(state)


# -- refusals ------------------------------------------------------------------------------


def _damaged(archive: Path, target: Path, how: str) -> Path:
    data = bytearray(archive.read_bytes())
    if how == "flipped":
        data[len(data) // 2] ^= 0x01
    elif how == "truncated":
        del data[len(data) - 5000 :]
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("flipped", "does not authenticate"),
        ("truncated", "of the archive"),
        ("wrong key", "which this installation does not hold"),
    ],
)
def test_damaged_or_foreign_archives_are_refused_in_one_line(
    world: Installation, archive: Path, root: Path, how: str, reason: str
) -> None:
    if how == "wrong key":
        path = root / "stranger.bak"
        stranger = generate_master_key()
        with path.open("wb") as target:
            backup_here(world, target, StaticKeyProvider([stranger], stranger.key_id, "test"))
    else:
        path = _damaged(archive, root / f"{how}.bak", how)
    line = one_line_refusal(run_here(world, "backup", "verify", str(path)))
    assert reason in line, line
    assert str(path) in line


def test_a_restore_from_a_damaged_archive_leaves_the_target_empty(
    world: Installation, archive: Path, root: Path
) -> None:
    """The damage is near the end: everything before it was loaded, then rolled back."""
    twin = empty_twin(world, root / "damaged-target", "sqlite")
    for how in ("flipped", "truncated"):
        path = _damaged(archive, root / f"restore-{how}.bak", how)
        with restore_target(twin) as target, pytest.raises(BackupError), path.open("rb") as source:
            load_archive(source, target, str(path))
        assert rows_held(twin) == 0
        assert not [p for p in twin.store.rglob("*") if p.is_file()], "evidence files stayed"
    line = one_line_refusal(run_here(twin, "restore", str(path)))
    assert "truncated" in line or "does not authenticate" in line
    assert run_here(twin, "restore", str(archive)).returncode == 0  # the good one goes in
    assert rows_held(twin) > 0


def test_a_restore_over_data_is_refused(world: Installation, archive: Path) -> None:
    line = one_line_refusal(run_here(world, "restore", str(archive)))
    assert "the target database is not empty" in line


def test_an_archive_from_a_newer_version_is_refused_before_anything_changes(
    world: Installation, root: Path
) -> None:
    path = root / "newer.bak"
    header = ContentHeader(datetime.now(UTC), "sqlite", "f00dfacef00d", current_layouts())
    with world.context() as ctx, path.open("wb") as target:
        writer = encrypting_writer(target, ctx.keys)
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            data = header.encode()
            info = tarfile.TarInfo(HEADER_MEMBER)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        writer.finish()
    twin = empty_twin(world, root / "newer-target", "sqlite")
    with (
        restore_target(twin) as target,
        path.open("rb") as source,
        pytest.raises(BackupError, match="newer one"),
    ):
        load_archive(source, target, str(path))
    assert rows_held(twin) == 0
