"""Stored files follow the database transaction that records them.

A file is written to the store before the row that names it is committed (it is streamed,
so it cannot wait). `delete_on_rollback` removes it again if that transaction — or the
savepoint it was written in — is rolled back or closed without a commit, so a failed
upload leaves no file behind. `delete_after_commit` removes files only once the
transaction that erased their records has committed: an erasure that is rolled back still
has its files, and one that commits has already shredded their keys, so a crash between
the commit and the deletion leaves only ciphertext that nothing can decrypt.

Services never commit; these hooks let them keep that rule. Imports nothing from Flask.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from incidents.storage.store import EvidenceStore

log = logging.getLogger(__name__)

_STATE = "incidents.storage.pending_files"


@dataclass
class _Pending:
    store: EvidenceStore
    key: str
    transaction: SessionTransaction
    on_rollback: bool  # True: delete if rolled back; False: delete once committed


@dataclass
class _SessionFiles:
    pending: list[_Pending] = field(default_factory=list)
    committed: set[SessionTransaction] = field(default_factory=set)


def delete_on_rollback(session: Session, store: EvidenceStore, key: str) -> None:
    """Delete the stored file `key` unless the current transaction commits."""
    _register(session, store, key, on_rollback=True)


def delete_after_commit(session: Session, store: EvidenceStore, key: str) -> None:
    """Delete the stored file `key` once the current transaction commits (never otherwise)."""
    _register(session, store, key, on_rollback=False)


def pending_count(session: Session) -> int:
    """How many stored files wait on this session's transactions (for tests)."""
    state = session.info.get(_STATE)
    return len(state.pending) if state is not None else 0


def _register(session: Session, store: EvidenceStore, key: str, *, on_rollback: bool) -> None:
    state = session.info.get(_STATE)
    if state is None:
        state = session.info[_STATE] = _SessionFiles()
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    state.pending.append(_Pending(store, key, transaction, on_rollback))


def _after_commit(session: Session) -> None:
    state: _SessionFiles | None = session.info.get(_STATE)
    # The transaction committing is the innermost one still open: a savepoint being
    # released, or the root transaction.
    transaction = session.get_nested_transaction() or session.get_transaction()
    if state is not None and transaction is not None:
        state.committed.add(transaction)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    state: _SessionFiles | None = session.info.get(_STATE)
    if state is None:
        return
    committed = transaction in state.committed
    state.committed.discard(transaction)
    remaining: list[_Pending] = []
    for item in state.pending:
        if item.transaction is not transaction:
            remaining.append(item)
        elif committed and transaction.parent is not None:
            item.transaction = transaction.parent  # a released savepoint: its parent decides
            remaining.append(item)
        elif committed != item.on_rollback:
            _delete(item)
    state.pending = remaining


def _delete(item: _Pending) -> None:
    # The transaction is over: a failure here must not undo it or hide its own error.
    try:
        item.store.delete(item.key)
    except Exception as exc:  # logged: the file holds only ciphertext
        log.warning(
            "could not delete stored evidence file %s…: %s", item.key[:12], type(exc).__name__
        )
