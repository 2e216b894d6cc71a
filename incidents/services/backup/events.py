"""What the audit log records of a backup written and of a restore made.

Only what describes the archive as a whole: its format, counts, size, the audit tree it
was checkpointed at and the master key it is sealed under. Never a file name or path
(the operator's names for archives can name people), never a storage key or any value
held inside the archive.
"""

from __future__ import annotations

from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.permissions import Permission, ensure
from incidents.services.backup.archive import FORMAT
from incidents.services.backup.manifest import AUDIT_TABLE, Manifest


def _contents(manifest: Manifest) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "database": manifest.database_kind,
        "revision": manifest.revision,
        "tables": len(manifest.tables),
        "rows": manifest.total_rows(),
        "evidence_files": len(manifest.evidence),
        # The audit rows the archive holds are exactly the leaves its checkpoint signs
        # (the writer and every reader recompute the tree from them), so their count is
        # the checkpoint's tree size.
        "audit_tree_size": int(manifest.tables[AUDIT_TABLE]["rows"]),
    }


def record_backup_created(
    ctx: Context, manifest: Manifest, archive_bytes: int, master_key_id: str
) -> None:
    """One `backup.create` event for an archive written whole (not yet committed)."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)  # the operator's: sealed under a master key
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.BACKUP_CREATE,
        detail={
            **_contents(manifest),
            "created_at": manifest.created_at.isoformat(),
            "bytes": archive_bytes,
            "master_key_id": master_key_id,
        },
    )


def record_restore(ctx: Context, manifest: Manifest, upgraded_to: str | None) -> None:
    """One `backup.restore` event in the installation just restored from `manifest`'s
    archive: the first event after the archive's checkpoint, so the log shows where
    the restore happened."""
    ensure(ctx.principal, Permission.KEYS_MANAGE)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.BACKUP_RESTORE,
        detail={
            **_contents(manifest),
            "archive_created_at": manifest.created_at.isoformat(),
            "schema_upgraded_to": upgraded_to,
        },
    )
