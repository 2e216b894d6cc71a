"""Sweeping the evidence store: files no evidence row names, and unfinished temporaries.

A stored file is written before the row that names it commits, and an erased record's
files are deleted after its erasure commits: a process killed in between leaves a file
nobody names (an upload that never committed, or ciphertext whose data key is gone). A
write killed before its rename leaves a `.partial` temporary (in the database store, a
row whose writer never closed). Neither is ever read.
Only files older than a grace period go, so an upload in progress — still writing its
temporary, or renamed and about to commit its row — is never swept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import ConfigurationError
from incidents.permissions import Permission, ensure
from incidents.repositories import evidence as evidence_queries
from incidents.storage.store import ListingEvidenceStore, StoredEntry

GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class SweepOutcome:
    orphans: list[StoredEntry]  # complete files no evidence row names
    temporaries: list[StoredEntry]  # `.partial` files of writes that never finished
    dry_run: bool

    @property
    def removed(self) -> list[StoredEntry]:
        return [*self.orphans, *self.temporaries]


def sweep_store(
    ctx: Context,
    *,
    older_than: timedelta = GRACE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SweepOutcome:
    """Remove (or, with `dry_run`, only list) the store's files that no evidence row
    names and its temporaries, last written more than `older_than` ago. One audit event
    says how many went; a dry run changes nothing and records nothing."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)  # the operator's: the store's own files
    store = ctx.store
    if not isinstance(store, ListingEvidenceStore):
        raise ConfigurationError("this evidence store cannot list its files to sweep")
    cutoff = (now or utcnow()) - older_than
    # The files first, the names second: a row committed in between names its file.
    old = [entry for entry in store.entries() if entry.modified < cutoff]
    named = evidence_queries.storage_keys(ctx.session)
    outcome = SweepOutcome(
        orphans=[e for e in old if not e.temporary and e.key not in named],
        temporaries=[e for e in old if e.temporary],
        dry_run=dry_run,
    )
    if dry_run or not outcome.removed:
        return outcome
    # Recorded first: if the log cannot be written, nothing is removed.
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.EVIDENCE_SWEEP,
        detail={
            "orphans": len(outcome.orphans),
            "temporaries": len(outcome.temporaries),
            "older_than_seconds": int(older_than.total_seconds()),
        },
    )
    ctx.session.flush()
    for entry in outcome.removed:
        store.remove_entry(entry)
    return outcome
