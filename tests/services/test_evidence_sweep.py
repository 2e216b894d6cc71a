"""The evidence sweep: stored files no row names and unfinished temporaries go, once
older than the grace period; a file a row names never goes; a dry run changes nothing."""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.services.evidence import sweep
from incidents.storage.store import TEMPORARY_SUFFIX, DirectoryEvidenceStore, new_storage_key
from tests.factories import ReportFactory, stored_evidence
from tests.helpers import events

HOURS_AGO = 2 * 3600


@pytest.fixture
def store(tmp_path: Path) -> DirectoryEvidenceStore:
    return DirectoryEvidenceStore(tmp_path / "evidence")


def _aged(path: Path, seconds: int = HOURS_AGO) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _orphan(store: DirectoryEvidenceStore) -> Path:
    """A complete stored file no row names, as an upload killed before its commit leaves."""
    key = new_storage_key()
    with store.open_write(key) as target:
        target.write(b"ciphertext nobody can name")
    return store.root / key[:2] / key


def _temporary(store: DirectoryEvidenceStore) -> Path:
    """The temporary of a write killed before its rename (named as the store names it)."""
    key = new_storage_key()
    folder = store.root / key[:2]
    folder.mkdir(mode=0o700, exist_ok=True)
    partial = folder / f".{key}.{secrets.token_hex(8)}{TEMPORARY_SUFFIX}"
    partial.write_bytes(b"half a file")
    return partial


def test_old_orphans_and_temporaries_go_and_named_files_stay(
    db_session: Session, ctx: Context, store: DirectoryEvidenceStore
) -> None:
    key = stored_evidence(store, ReportFactory()).storage_key
    assert key is not None
    named = store.root / key[:2] / key
    _aged(named)
    orphan, partial, young = _orphan(store), _temporary(store), _orphan(store)
    _aged(orphan)
    _aged(partial)
    swept_ctx = dataclasses.replace(ctx, store=store)

    listed = sweep.sweep_store(swept_ctx, dry_run=True)
    assert [e.name for e in listed.orphans] == [orphan.name]
    assert [e.name for e in listed.temporaries] == [partial.name]
    assert orphan.exists() and partial.exists() and not events(db_session, "evidence.sweep")

    outcome = sweep.sweep_store(swept_ctx)
    assert [e.key for e in outcome.orphans] == [orphan.name]
    assert not orphan.exists() and not partial.exists()
    assert named.exists() and young.exists()  # named, and too young to tell
    (event,) = events(db_session, "evidence.sweep")
    assert event.detail == {"orphans": 1, "temporaries": 1, "older_than_seconds": 3600}

    again = sweep.sweep_store(swept_ctx, older_than=timedelta(0))
    assert [e.name for e in again.orphans] == [young.name]
    assert named.exists() and len(events(db_session, "evidence.sweep")) == 2


def test_nothing_to_sweep_records_nothing(
    db_session: Session, ctx: Context, store: DirectoryEvidenceStore
) -> None:
    (store.root / "README").write_text("not the store's")  # never listed, never removed
    outcome = sweep.sweep_store(dataclasses.replace(ctx, store=store), older_than=timedelta(0))
    assert outcome.removed == [] and not events(db_session, "evidence.sweep")
    assert (store.root / "README").exists()
