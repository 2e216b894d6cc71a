"""A record's history, read from the audit log: who created it, changed which fields,
decrypted which fields and why, erased or merged it, and when.

Events name fields, never values, so a history shows the registry's field labels
("full account", "date received") and nothing that was typed. Reading it decrypts
nothing. It is for those who may write the record in its team and for auditors of the
team; anyone else who may read the record gets None, and the page leaves the section out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.filters import SOMEONE_ELSE
from incidents.context import Context
from incidents.errors import NotFound
from incidents.models.vocabularies import ERASURE_REASON_LABELS
from incidents.permissions import (
    Permission,
    can,
    can_in_team,
    readable_teams,
    sees_whole_audit_log,
)
from incidents.records.kind import RecordKind
from incidents.records.kinds import KINDS
from incidents.repositories import history as history_queries
from incidents.services import records

# The newest events shown; a page never loads a busy record's whole log.
HISTORY_LIMIT = 100

_VERBS = {
    AuditAction.RECORD_CREATE.value: "Created",
    AuditAction.RECORD_UPDATE.value: "Changed",
    AuditAction.SECRET_DECRYPT.value: "Decrypted",
    AuditAction.RECORD_ERASE.value: "Erased",
    AuditAction.PERSON_MERGE.value: "Merged into",
    AuditAction.PERSON_UNMERGE.value: "Merge undone, moved back from",
    AuditAction.RETENTION_FIELD_SHRED.value: "Shredded by a retention rule",
    AuditAction.LEGAL_HOLD_PLACE.value: "Put under a legal hold",
    AuditAction.LEGAL_HOLD_RELEASE.value: "Released from its legal hold",
}
# The detail key naming the other record of a merge or its undoing (a reference).
_OTHER = {AuditAction.PERSON_MERGE.value: "into", AuditAction.PERSON_UNMERGE.value: "from"}
# Why the fields were decrypted, from the event's `purpose`; a page view gives none.
_PURPOSES = {
    None: "to show it on a page",
    "edit": "to compare an edit with what was stored",
    "search": "to confirm a match in a people search",
    "duplicate check": "to look for duplicates",
    "merge review": "to review a merge",
    "consents": "to show its consents",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One thing done to the record (or a run of the same decryption by one person)."""

    when: datetime  # the newest of the run
    who: str  # the user's display name, or the log's label (e-mail, `cli:<name>`)
    login: str | None  # the e-mail the log names, when `who` is a display name
    verb: str  # "Created", "Changed", "Decrypted", "Erased", "Merged"…
    fields: tuple[str, ...]  # labels of the fields concerned, never their values
    purpose: str | None = None  # why a decryption was made
    reason: str | None = None  # why it was erased (a reason names no one)
    other_reference: str | None = None  # the person merged into, or moved back from
    times: int = 1  # consecutive identical decryptions folded into this entry
    first: datetime | None = None  # the oldest of a run, when `times` > 1


@dataclass(frozen=True)
class History:
    reference: str | None
    entries: tuple[HistoryEntry, ...]
    events: int  # audit events behind the entries (at most `limit`)
    more: bool  # older events exist beyond the newest `limit`
    limit: int = HISTORY_LIMIT


def history_of(
    ctx: Context,
    kind: RecordKind,
    record_or_reference: Any,
    *,
    limit: int = HISTORY_LIMIT,
) -> History | None:
    """The newest `limit` audit events about a record of `kind` (given itself, or by its
    reference or id), newest first; None for a reader who may not see its history.

    NotFound for a record of a team the principal is not in, as for no record. Two SQL
    statements once the record is at hand — the events, and their actors' names.
    """
    record = record_or_reference
    if isinstance(record_or_reference, str | uuid.UUID):
        record = records.find(ctx, kind, record_or_reference)
    if not _may_see(ctx, kind, record):
        return None
    rows = history_queries.newest_events_about(ctx.session, kind.table, record.id, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    within = _teams_named(ctx, kind)
    names = history_queries.display_names(ctx.session, actor_ids, within)
    unnamed = set() if within is None else actor_ids - names.keys() - {ctx.actor.user_id}
    labels = field_labels(kind)
    entries: list[HistoryEntry] = []
    for row in rows:
        entry = _entry(row, names, labels, unnamed)
        if entries and _same_decryption(entries[-1], entry):
            entries[-1] = replace(entries[-1], times=entries[-1].times + 1, first=entry.when)
        else:
            entries.append(entry)
    return History(getattr(record, "reference", None), tuple(entries), len(rows), more, limit)


def _teams_named(ctx: Context, kind: RecordKind) -> frozenset[uuid.UUID] | None:
    """Whose actors a history names: every actor's (None) for a team's record, whose
    actors were of its team; for a shared record (an organisation, which every team
    edits), those of the reader's own teams only — unless the reader sees the whole log."""
    if kind.team_scoped or kind.team_from is not None or sees_whole_audit_log(ctx.principal):
        return None
    return readable_teams(ctx.principal) or frozenset()


def _may_see(ctx: Context, kind: RecordKind, record: Any) -> bool:
    team_id = records.team_of(ctx, kind, record)
    if team_id is None:
        if kind.team_scoped or kind.team_from is not None:
            raise NotFound(f"no {kind.label}")
        # A shared record (an organisation): whoever may write such records, and auditors.
        return can(ctx.principal, kind.write_permission) or can(
            ctx.principal, Permission.AUDIT_READ
        )
    if not can_in_team(ctx.principal, Permission.CASE_READ, team_id):
        raise NotFound(f"no {kind.label}")
    return can_in_team(ctx.principal, kind.write_permission, team_id) or can_in_team(
        ctx.principal, Permission.AUDIT_READ, team_id
    )


def field_labels(kind: RecordKind) -> dict[str, str]:
    """Each name an event may give a field of `kind` — the input field's own or one of
    the columns it writes (`incident_id`, `start_precision`) — to the field's label."""
    labels: dict[str, str] = {}
    for spec in kind.fields:
        labels[spec.name] = spec.label
        for column in spec.columns():
            labels.setdefault(column, spec.label)
    return labels


def _label(field: str, labels: dict[str, str]) -> str:
    """A field's label; `consents.notes` (a field of the records that hang off this one,
    by table) is that kind's field: "consent conditions"."""
    if field in labels:
        return labels[field]
    table, _, name = field.rpartition(".")
    for kind in KINDS:
        if table and kind.table == table:
            return f"{kind.label} {field_labels(kind).get(name, name.replace('_', ' '))}"
    return field.replace("_", " ")


def _entry(
    row: Any,
    names: dict[uuid.UUID, str],
    labels: dict[str, str],
    unnamed: set[uuid.UUID | None],
) -> HistoryEntry:
    name = names.get(row.actor_id) if row.actor_id is not None else None
    if row.actor_id in unnamed:
        name = SOMEONE_ELSE
    detail: dict[str, Any] = row.detail if isinstance(row.detail, dict) else {}
    shown: list[str] = []
    for field in row.fields or ():
        text = _label(field, labels)
        if text not in shown:  # a date and its precision are one field to the reader
            shown.append(text)
    # The log sorts names alphabetically; a reader expects the order of the record's form.
    order = {label: position for position, label in enumerate(dict.fromkeys(labels.values()))}
    shown.sort(key=lambda text: order.get(text, len(order)))
    purpose = None
    if row.action == AuditAction.SECRET_DECRYPT.value:
        given = detail.get("purpose")
        purpose = _PURPOSES.get(given, f"for {given}")
    # An erasure shows its reason code; the free text of events from before the codes is
    # the eraser's own words, which only the tombstone's sealed note may keep.
    code = detail.get("reason_code") if row.action == AuditAction.RECORD_ERASE.value else None
    reason = ERASURE_REASON_LABELS.get(str(code)) if code else None
    other = detail.get(_OTHER[row.action]) if row.action in _OTHER else None
    return HistoryEntry(
        when=row.occurred_at,
        who=name or row.actor,
        login=row.actor if name and name != SOMEONE_ELSE else None,
        verb=_verb(row.action),
        fields=tuple(shown),
        purpose=purpose,
        reason=str(reason) if reason else None,
        other_reference=str(other) if other else None,
    )


def _verb(action: str) -> str:
    """What the event did, for a reader: the actions a history expects by name, any other
    from the log's own name ("evidence.accessed" → "Evidence accessed")."""
    if action in _VERBS:
        return _VERBS[action]
    return action.replace(".", " ").replace("_", " ").capitalize()


def _same_decryption(newer: HistoryEntry, older: HistoryEntry) -> bool:
    # A researcher who opens a page ten times in a row is one line, not ten: the log keeps
    # every event; the history folds a run of the same decryption by the same person.
    return newer.verb == older.verb == _VERBS[AuditAction.SECRET_DECRYPT.value] and (
        newer.who,
        newer.login,
        newer.fields,
        newer.purpose,
    ) == (older.who, older.login, older.fields, older.purpose)
