"""Moving an installation's evidence files from one store to the other (folder, database).

Each file an evidence row names is copied as stored — ciphertext, so nothing is
decrypted and no key is needed — and checked: the SHA-256 of the bytes read from the
source must equal that of the copy read back from the target, or the copy is removed and
the move stops. A file the target already holds is not copied again, so a move that was
interrupted is simply run again. The source keeps its files meanwhile: the application
reads from the store its setting names. Once the setting names the target (and every
server has been restarted), a move with `delete_source` copies whatever arrived since,
then removes each source file whose copy in the target checks out against it.

The copying happens outside any transaction (it may take hours); the keys to move are
read first, and one `evidence.move` audit event with the counts is recorded at the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import ConfigurationError, IncidentsError
from incidents.permissions import Permission, ensure
from incidents.repositories import evidence as evidence_queries
from incidents.storage.store import EvidenceStore, StoredFileMissing

READ_BYTES = 1024 * 1024  # what one read of a stored file asks for while copying


class MoveError(IncidentsError):
    """A copy did not check out against its source; the message names the file."""


@dataclass
class MoveOutcome:
    to: str
    copied: int = 0  # written to the target, and checked
    present: int = 0  # already in the target
    missing: list[str] = field(default_factory=list)  # named by a row, in neither store
    deleted: int = 0  # source files removed, each after its copy checked out

    @property
    def in_target(self) -> int:
        return self.copied + self.present


def keys_to_move(ctx: Context, to: str, *, delete_source: bool) -> list[str]:
    """The storage keys an evidence row names, in order; refused for anyone but the
    operator, and (with `delete_source`) unless the setting already names the target."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)  # the operator's: the store's own files
    if delete_source and ctx.settings.evidence_store != to:
        raise ConfigurationError(
            f"the setting still names the {ctx.settings.evidence_store} store: set "
            f'evidence_store = "{to}" and restart every server before removing the old copies'
        )
    return sorted(evidence_queries.storage_keys(ctx.session))


def _digest(store: EvidenceStore, key: str) -> str:
    with store.open_read(key) as handle:
        digest = hashlib.sha256()
        while piece := handle.read(READ_BYTES):
            digest.update(piece)
    return digest.hexdigest()


def _copy(source: EvidenceStore, target: EvidenceStore, key: str) -> None:
    digest = hashlib.sha256()
    with source.open_read(key) as handle, target.open_write(key) as writer:
        while piece := handle.read(READ_BYTES):
            digest.update(piece)
            writer.write(piece)
    if _digest(target, key) != digest.hexdigest():
        target.delete(key)
        raise MoveError(
            f"the copy of stored file {key[:12]}… does not match its source; it was removed "
            "and the source kept: run the move again"
        )


def copy_files(
    source: EvidenceStore,
    target: EvidenceStore,
    keys: Iterable[str],
    outcome: MoveOutcome,
    advance: Callable[[int], None] | None = None,
) -> MoveOutcome:
    """Copy into `target` each of `keys` it does not hold yet, each checked."""
    for key in keys:
        try:
            if target.exists(key):
                outcome.present += 1
            else:
                _copy(source, target, key)
                outcome.copied += 1
        except StoredFileMissing:  # in neither store; or erased while the move ran
            outcome.missing.append(key)
        if advance is not None:
            advance(1)
    return outcome


def delete_sources(
    source: EvidenceStore,
    target: EvidenceStore,
    keys: Iterable[str],
    outcome: MoveOutcome,
    advance: Callable[[int], None] | None = None,
) -> MoveOutcome:
    """Remove from `source` each of `keys` whose copy in `target` matches it byte for byte."""
    for key in keys:
        try:
            if source.exists(key):
                if _digest(source, key) != _digest(target, key):
                    raise MoveError(
                        f"the copy of stored file {key[:12]}… differs from its source: both "
                        "were kept; remove the copy and run the move again"
                    )
                outcome.deleted += int(source.delete(key))
        except StoredFileMissing:
            pass  # erased meanwhile: nothing left to remove
        if advance is not None:
            advance(1)
    return outcome


def record_move(ctx: Context, outcome: MoveOutcome, source_kind: str) -> None:
    """One `evidence.move` event: where from, where to, and how many (no names)."""
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EVIDENCE_MOVE,
        detail={
            "from": source_kind,
            "to": outcome.to,
            "copied": outcome.copied,
            "present": outcome.present,
            "missing": len(outcome.missing),
            "deleted": outcome.deleted,
        },
    )
