"""Evidence files as a report's list shows them to one reader."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.context import Context
from incidents.db import FieldClass
from incidents.errors import DecryptionError
from incidents.models.evidence import Evidence
from incidents.models.report import Report
from incidents.permissions import Permission, can, can_in_team, visible_field_classes
from incidents.records.kinds import REPORT
from incidents.repositories import evidence as evidence_queries
from incidents.repositories import records as record_queries
from incidents.services.decryption import audit_decryptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence file as a list shows it; `filename` only for those who may read it."""

    id: uuid.UUID
    sha256: str
    size_bytes: int
    media_type: str
    captured_at: datetime | None
    received_at: datetime
    filename: str | None
    description: str | None  # secret as well: what the researcher wrote about the file
    stored: bool  # a file is in the store (rows made without one have none)
    downloadable: bool
    erased: bool  # erased with its report: key and file gone for good


def evidence_for_reports(
    ctx: Context, reports: Sequence[Report]
) -> dict[uuid.UUID, list[EvidenceItem]]:
    """The evidence of `reports` that the principal may see, by report id.

    Restricted viewers see hash, size, type and dates; researchers of the team also the
    file name, decrypted here (one `secret.decrypt` event per file), never in a template.
    The names are opened together — one query for the files' keys, their events appended
    in one go — so that a page's statements do not grow with its files.
    """
    found: dict[uuid.UUID, list[EvidenceItem]] = defaultdict(list)
    report_ids = [r.id for r in reports]
    teams = {
        r.team_id for r in reports if can_in_team(ctx.principal, Permission.CASE_READ, r.team_id)
    }
    rows = evidence_queries.evidence_of_reports(ctx.session, report_ids, teams)
    erased = record_queries.erased_ids(ctx.session, REPORT.table, report_ids) if rows else set()
    shown = [e for e in rows if FieldClass.RESTRICTED in visible_field_classes(ctx.principal, e)]
    opened = _secrets(ctx, shown)
    for evidence in shown:
        secrets = opened.get(evidence.id, {})
        found[evidence.report_id].append(
            EvidenceItem(
                id=evidence.id,
                sha256=evidence.sha256,
                size_bytes=evidence.size_bytes,
                media_type=evidence.media_type,
                captured_at=evidence.captured_at,
                received_at=evidence.received_at,
                filename=secrets.get("filename"),
                description=secrets.get("description"),
                stored=evidence.storage_key is not None,
                downloadable=evidence.storage_key is not None
                and evidence.report_id not in erased
                and can(ctx.principal, Permission.FIELDS_SECRET, evidence),
                erased=evidence.report_id in erased,
            )
        )
    return dict(found)


def _secrets(ctx: Context, rows: Sequence[Evidence]) -> dict[uuid.UUID, dict[str, str | None]]:
    """The file names and descriptions the principal may read, by evidence id; what
    cannot be opened (its report erased) is left out, logged, and not audited."""
    wanted = [
        (evidence, fields)
        for evidence in rows
        if FieldClass.SECRET in visible_field_classes(ctx.principal, evidence)
        and (fields := tuple(f for f in SECRETS if getattr(evidence, f) is not None))
    ]
    found: dict[uuid.UUID, dict[str, str | None]] = {}
    opened = []
    for (evidence, fields), result in zip(wanted, ctx.vault.unseal_each(wanted), strict=True):
        if isinstance(result, DecryptionError):
            log.warning("evidence %s: file name not shown: %s", evidence.id, result)
            continue
        found[evidence.id] = result
        opened.append((evidence, fields))
    audit_decryptions(ctx, opened)
    return found


SECRETS = ("filename", "description")
