"""Key rotation (security check 6): new writes use the new key, old rows still decrypt,
re-wrapping leaves nothing on the old key, which can then be retired; a rotation killed
half-way resumes and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import (
    KeyFileProvider,
    MasterKey,
    generate_master_key,
    load_key_file,
    write_key_file,
)
from incidents.errors import DecryptionError, MasterKeyError, ValidationError
from incidents.models import DataKey, Incident
from incidents.services import keys
from incidents.vault import FieldVault
from tests.factories import IncidentFactory

ENTRY_POINT = "from incidents.cli import main; main()"


@pytest.fixture
def key_file(tmp_path: Path, master_key: MasterKey) -> KeyFileProvider:
    """A key file holding the test run's master key, so rows made by factories decrypt."""
    path = tmp_path / "master.key"
    write_key_file(path, [master_key], master_key.key_id)
    return load_key_file(path)


@pytest.fixture
def operator(ctx: Context, key_file: KeyFileProvider) -> Context:
    """The test operator's context with the keys of `key_file`."""
    return ctx.with_keys(key_file)


def _wrapped_by(session: Session, key_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.master_key_id == key_id)
        )
        or 0
    )


def test_new_writes_use_the_new_primary_and_old_rows_still_decrypt(
    db_session: Session, operator: Context, key_file: KeyFileProvider, master_key: MasterKey
) -> None:
    old = IncidentFactory(secrets={"narrative": "written under the old key"})
    new_key, provider = keys.add_primary_key(operator)
    assert provider.primary().key_id == new_key.key_id
    assert load_key_file(key_file.path).key_ids() == [new_key.key_id, master_key.key_id]

    vault = FieldVault(db_session, provider)
    fresh = Incident(team_id=old.team_id, reference="INC-2099-0001", title="t")
    vault.seal(fresh, narrative="written under the new key")
    db_session.add(fresh)
    db_session.flush()
    stored = db_session.scalars(select(DataKey).where(DataKey.record_id == fresh.id)).one()
    assert stored.master_key_id == new_key.key_id
    assert FieldVault(db_session, provider).unseal(old, "narrative") == {
        "narrative": "written under the old key"
    }


def test_rewrap_moves_every_data_key_then_the_old_key_can_go(
    db_session: Session, operator: Context, master_key: MasterKey
) -> None:
    records = [IncidentFactory(secrets={"narrative": f"account {i}"}) for i in range(7)]
    _, provider = keys.add_primary_key(operator)
    rotated = operator.with_keys(provider)
    with pytest.raises(ValidationError, match="still wraps"):
        keys.retire_key(rotated, master_key.key_id)
    batches: list[int] = []
    done = keys.rewrap_all(rotated, batch_size=3, on_batch=batches.append)
    assert done == sum(batches) >= 7 and max(batches) <= 3
    assert _wrapped_by(db_session, master_key.key_id) == 0
    assert keys.pending_rewraps(rotated) == 0
    assert keys.rewrap_batch(rotated).count == 0  # idempotent

    retired = keys.retire_key(rotated, master_key.key_id)
    assert retired.key_ids() == [provider.primary().key_id]
    with pytest.raises(MasterKeyError):
        retired.get(master_key.key_id)
    vault = FieldVault(db_session, retired)
    for index, record in enumerate(records):
        assert vault.unseal(record, "narrative") == {"narrative": f"account {index}"}


def test_a_data_key_written_under_the_old_key_behind_the_batches_is_rewrapped_too(
    db_session: Session, operator: Context, master_key: MasterKey
) -> None:
    """A process that still had the old primary writes a record while the rotation runs;
    its data key's id lies before the batch the rotation has reached."""
    for i in range(4):
        IncidentFactory(secrets={"narrative": f"account {i}"})
    _, provider = keys.add_primary_key(operator)
    rotated = operator.with_keys(provider)
    team, record = uuid.uuid4(), uuid.uuid4()
    behind = {
        "id": uuid.UUID(int=1),  # before every id the batches have passed
        "record_table": "persons",
        "record_id": record,
        "team_id": team,
        "master_key_id": master_key.key_id,
        "wrapped_key": envelope.wrap_data_key(
            master_key, envelope.new_data_key(), "persons", record, team
        ),
    }

    written: list[bool] = []

    def write_behind(_count: int) -> None:  # after each batch, as a commit would come
        if not written:
            db_session.execute(insert(DataKey), [behind])
            written.append(True)

    keys.rewrap_all(rotated, batch_size=2, on_batch=write_behind)
    assert written
    assert _wrapped_by(db_session, master_key.key_id) == 0


def test_the_primary_key_cannot_be_retired(operator: Context, master_key: MasterKey) -> None:
    with pytest.raises(MasterKeyError, match="primary"):
        keys.retire_key(operator, master_key.key_id)


def test_keys_in_the_environment_are_not_rewritten(ctx: Context) -> None:
    # ctx holds the application's keys, which come from INCIDENTS_MASTER_KEY.
    with pytest.raises(ValidationError, match="INCIDENTS_MASTER_KEY"):
        keys.add_primary_key(ctx)


def test_a_data_key_wrapped_by_a_key_no_longer_held_is_reported(
    db_session: Session, operator: Context, key_file: KeyFileProvider
) -> None:
    record = IncidentFactory()
    stray = generate_master_key()
    row = db_session.scalars(select(DataKey).where(DataKey.record_id == record.id)).one()
    row.master_key_id = stray.key_id
    db_session.flush()
    states = {status.key_id: status.state for status in keys.key_status(operator)}
    assert states[stray.key_id] == "missing"
    with pytest.raises(MasterKeyError, match=stray.key_id):
        FieldVault(db_session, key_file).unseal(record, "narrative")


# -- a rotation killed half-way ----------------------------------------------------------

KEYS_TO_ROTATE = 20_000


def _seed_data_keys(url: str, master: MasterKey) -> dict[uuid.UUID, bytes]:
    """Many real wrapped data keys (no records needed to re-wrap them)."""
    team = uuid.uuid4()
    materials: dict[uuid.UUID, bytes] = {}
    rows = []
    for _ in range(KEYS_TO_ROTATE):
        record = uuid.uuid4()
        material = envelope.new_data_key()
        materials[record] = material
        rows.append(
            {
                "id": uuid.uuid4(),
                "record_table": "persons",
                "record_id": record,
                "team_id": team,
                "master_key_id": master.key_id,
                "wrapped_key": envelope.wrap_data_key(master, material, "persons", record, team),
            }
        )
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(DataKey), rows)
    engine.dispose()
    return materials


def _count(url: str, key_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.master_key_id == key_id)
        )
    engine.dispose()
    return count or 0


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_killed_rotation_resumes_and_loses_nothing(
    fresh_database_url: str, tmp_path: Path
) -> None:
    url = fresh_database_url
    first = generate_master_key()
    key_path = tmp_path / "master.key"
    write_key_file(key_path, [first], first.key_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    env |= {
        "INCIDENTS_DATABASE_URL": url,
        "INCIDENTS_MASTER_KEY_FILE": str(key_path),
        "INCIDENTS_INSTANCE_PATH": str(tmp_path / "instance"),
        "INCIDENTS_SECRET_KEY": "x" * 40,
    }

    def incidents(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", ENTRY_POINT, *arguments],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert incidents("db", "upgrade").returncode == 0
    materials = _seed_data_keys(url, first)

    rotation = subprocess.Popen(
        [sys.executable, "-c", ENTRY_POINT, "keys", "rotate", "--batch-size", "20"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and rotation.poll() is None:
            remaining = _count(url, first.key_id)
            if remaining < KEYS_TO_ROTATE:  # a first batch committed, most still to do
                break
            time.sleep(0.02)
        assert rotation.poll() is None, "the rotation finished before it could be killed"
        rotation.send_signal(signal.SIGKILL)
    finally:
        rotation.kill()
        rotation.communicate(timeout=30)
    left_on_old_key = _count(url, first.key_id)
    assert 0 < left_on_old_key < KEYS_TO_ROTATE, "killed half-way"

    resumed = incidents("keys", "rotate", "--no-new-key", "--batch-size", "1000")
    assert resumed.returncode == 0, resumed.stderr
    assert f"re-wrapped {left_on_old_key} data keys" in resumed.stdout
    assert _count(url, first.key_id) == 0

    provider = load_key_file(key_path)
    primary = provider.primary()
    assert primary.key_id != first.key_id
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(DataKey.record_id, DataKey.team_id, DataKey.master_key_id, DataKey.wrapped_key)
        ).all()
    engine.dispose()
    assert len(rows) == KEYS_TO_ROTATE
    for record_id, team_id, key_id, wrapped in rows:
        assert key_id == primary.key_id
        material = envelope.unwrap_data_key(primary, wrapped, "persons", record_id, team_id)
        assert material == materials[record_id]  # every data key survived, unchanged
    record_id, team_id, _, wrapped = rows[0]
    with pytest.raises(DecryptionError):  # and the old master key opens nothing any more
        envelope.unwrap_data_key(first, wrapped, "persons", record_id, team_id)

    retired = incidents("keys", "retire", first.key_id)
    assert retired.returncode == 0, retired.stderr
    assert load_key_file(key_path).key_ids() == [primary.key_id]
