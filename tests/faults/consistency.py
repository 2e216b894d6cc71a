"""What a crash must never leave behind, checked over a database and an instance folder.

`check_consistency` asserts, and returns a `State` to compare with a reference run:
the audit log verifies; every data key unwraps under the master key it names and
belongs to a record that exists; every secret column of every row decrypts (an erased
record has no data key and no secret left); every evidence row's stored file is there,
decrypts and matches its recorded hash and size; the store holds nothing but complete
files under store names and `*.partial` temporaries (which nobody reads).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import KeyProvider
from incidents.crypto.stream import decrypt_stream
from incidents.db import Base
from incidents.extensions import audit_signer
from incidents.models import BlindIndexEntry, DataKey, Erasure, Evidence
from incidents.services import audit_log
from incidents.storage.store import TEMPORARY_SUFFIX, DirectoryEvidenceStore, check_storage_key
from incidents.vault import FieldVault, secret_field_names
from tests.faults.apps import operator_context

# What a database records of itself when a row is written, not what the row says.
BOOKKEEPING = frozenset({"created_at", "updated_at", "lock_version", "last_seen_at"})


@dataclass
class State:
    """What an installation holds, in plaintext, to compare two runs by."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    blind_index: set[tuple[str, str, str, str, bytes]] = field(default_factory=set)
    erasures: set[tuple[str, str, str | None]] = field(default_factory=set)
    evidence: Counter[tuple[str, str, int, str | None]] = field(default_factory=Counter)
    audit_events: int = 0
    orphans: list[str] = field(default_factory=list)  # stored files no row names
    partials: list[str] = field(default_factory=list)  # temporaries of unfinished writes

    def key_material(self) -> dict[tuple[str, str], str]:
        """Each record's data key (a hash of it), whichever master key wraps it."""
        return {where: digest for where, (_master, digest) in self.data_keys.items()}


def check_consistency(
    database_url: str, instance: Path, key_file: Path, audit_key_file: Path | None = None
) -> State:
    """Assert the installation is consistent; return what it holds (see `State`).

    `audit_key_file` is the audit signing key (else the development one in `instance`).
    """
    state = State()
    with operator_context(database_url, instance, key_file, audit_key_file) as ctx:
        session = ctx.session
        outcome = audit_log.verify_log(ctx, audit_signer().verifier)
        assert outcome.ok, f"the audit log fails verification: {outcome.problem}"
        state.audit_events = outcome.size
        _check_data_keys(session, ctx.keys, state)
        _check_records(session, ctx.keys, state)
        _check_evidence(session, ctx, state)
        state.blind_index = {
            (e.index_name, e.record_table, str(e.record_id), e.master_key_id, e.value)
            for e in session.scalars(select(BlindIndexEntry))
        }
        session.rollback()  # the checker writes nothing
    return state


def _check_data_keys(session: Session, provider: KeyProvider, state: State) -> None:
    for row in session.scalars(select(DataKey)):
        material = envelope.unwrap_data_key(
            provider.get(row.master_key_id),
            row.wrapped_key,
            row.record_table,
            row.record_id,
            row.team_id,
        )
        where = (row.record_table, str(row.record_id))
        assert where not in state.data_keys, f"two data keys for {where}"
        state.data_keys[where] = (row.master_key_id, hashlib.sha256(material).hexdigest())


def _sealed_models() -> list[type[Any]]:
    return [
        mapper.class_
        for mapper in Base.registry.mappers
        if secret_field_names(mapper.class_) and "team_id" in mapper.class_.__table__.columns
    ]


def _check_records(session: Session, provider: KeyProvider, state: State) -> None:
    state.erasures = {
        (e.record_table, str(e.record_id), e.reference) for e in session.scalars(select(Erasure))
    }
    erased = {(table, record_id) for table, record_id, _ref in state.erasures}
    keyed = set(state.data_keys)
    for model in _sealed_models():
        vault = FieldVault(session, provider)  # one per table: a bounded key cache
        names = secret_field_names(model)
        columns = [c.key for c in model.__table__.columns if c.key not in BOOKKEEPING]
        for record in session.scalars(select(model)):
            where = (model.__tablename__, str(record.id))
            values = {name: getattr(record, name) for name in columns if name not in names}
            if where in erased:
                assert where not in keyed, f"erased {where} still has its data key"
                left = [name for name in names if getattr(record, name) is not None]
                assert not left, f"erased {where} still holds {left}"
            else:
                values |= vault.unseal(record, *names)  # raises if any does not decrypt
            keyed.discard(where)
            if model is not Erasure:  # a tombstone (new id, new time each run) is in erasures
                state.records[where] = values
    assert not keyed, f"data keys without a record: {sorted(keyed)[:5]}"


def _check_evidence(session: Session, ctx: Context, state: State) -> None:
    store = ctx.store
    assert isinstance(store, DirectoryEvidenceStore)
    named: set[str] = set()
    for row in session.scalars(select(Evidence)):
        filename = None
        if row.storage_key is not None:
            named.add(row.storage_key)
            assert store.exists(row.storage_key), f"evidence {row.id}: its stored file is gone"
            cipher = ctx.vault.cipher_for(row, create=False)
            digest, size = hashlib.sha256(), 0
            with store.open_read(row.storage_key) as handle:
                for chunk in decrypt_stream(cipher, row.id, handle, "evidence"):
                    digest.update(chunk)
                    size += len(chunk)
            assert (digest.hexdigest(), size) == (row.sha256, row.size_bytes), (
                f"evidence {row.id}: the stored file does not match its recorded hash"
            )
            filename = ctx.vault.unseal(row, "filename")["filename"]
        state.evidence[(str(row.report_id), row.sha256, row.size_bytes, filename)] += 1
    state.orphans, state.partials = [], []
    for path in sorted(store.root.rglob("*")):
        if path.is_dir():
            continue
        if path.name.endswith(TEMPORARY_SUFFIX):
            state.partials.append(path.name)
            continue
        check_storage_key(path.name)  # nothing else is ever visible in the store
        assert path.parent.name == path.name[:2], f"{path} is not where the store puts it"
        if path.name not in named:
            state.orphans.append(path.name)
