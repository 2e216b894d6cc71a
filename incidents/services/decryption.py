"""Opening the secret fields of several records for one page, together.

A page that shows an incident with fifty acts and their perpetrators opens a hundred
records. Opened one by one, each costs a query for its data key and three statements
to append its audit event, so the page's statements would grow with what it shows.
Opened here, their data keys come in one query and their events — still one
`secret.decrypt` event per record, naming its fields (security check 13) — are appended
in one go, in the order of the records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import NewEvent, record_events
from incidents.context import Context
from incidents.vault import secret_field_names

Wanted = tuple[Any, Sequence[str]]  # a record and the secret fields to open


def every_secret(records: Sequence[Any]) -> list[Wanted]:
    """Each record with all of its secret fields."""
    return [(record, secret_field_names(type(record))) for record in records]


def decrypt_records(
    ctx: Context, wanted: Sequence[Wanted], detail: Mapping[str, Any] | None = None
) -> list[dict[str, str | None]]:
    """The named fields of each record, decrypted, in order, with one audit event per
    record (with `detail`, such as the purpose); the first record that cannot be opened
    raises its DecryptionError, and no event is written (the request that asked is
    rolled back anyway)."""
    opened = ctx.vault.unseal_many(wanted)
    audit_decryptions(ctx, wanted, detail)
    return opened


def audit_decryptions(
    ctx: Context, opened: Sequence[Wanted], detail: Mapping[str, Any] | None = None
) -> None:
    """One `secret.decrypt` event for each record opened, naming the fields opened."""
    record_events(
        ctx.session,
        ctx.actor,
        [
            NewEvent(AuditAction.SECRET_DECRYPT, record, fields=list(names), detail=detail)
            for record, names in opened
        ],
    )
