"""Dismissing a related-case suggestion ("not related"), and showing it again.

A dismissal is stored per pair of records and per reason, so a pair dismissed for the
same unit comes back if the two later share a place too. Each change is an audit event
on the page's record that names the dismissal rows, not the other record or the reason:
auditors read the log, and which cases a researcher's secret fields tie together is not
theirs to learn.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.suggestion import SuggestionDismissal, SuggestionReason
from incidents.permissions import Permission, ensure
from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT, PERSON
from incidents.repositories import records as record_queries
from incidents.repositories import related_cases as queries
from incidents.services import records

# The reasons each kind of page suggests for.
REASONS: dict[str, frozenset[SuggestionReason]] = {
    INCIDENT.name: frozenset(
        {
            SuggestionReason.SAME_UNIT,
            SuggestionReason.SAME_PERPETRATOR_NAME,
            SuggestionReason.SAME_PLACE,
        }
    ),
    PERSON.name: frozenset({SuggestionReason.SAME_PERSON_NAME}),
}


def subject(ctx: Context, kind: RecordKind, reference: str) -> Any:
    """The record whose page dismisses, if the principal may: NotFound for another team's
    (whatever the role), PermissionDenied without secret fields and case:write."""
    record = records.find(ctx, kind, reference, Permission.FIELDS_SECRET)
    ensure(ctx.principal, Permission.CASE_WRITE, record)
    return record


def _parse(
    ctx: Context, kind: RecordKind, record: Any, other: str | None, reasons: Sequence[str]
) -> tuple[Any, list[SuggestionReason]]:
    other = (other or "").strip().upper()
    found = None
    if other and other != record.reference:
        try:
            found = records.find(ctx, kind, other, Permission.FIELDS_SECRET)
        except NotFound:
            found = None
    if found is None or found.team_id != record.team_id:
        # Another team's record is refused exactly like one that does not exist.
        raise ValidationError.on(
            "other", f"There is no other {kind.label} {other or '(none given)'} in this team."
        )
    if record_queries.is_erased(ctx.session, kind.table, found.id):
        raise ValidationError.on("other", f"{other} was erased.")
    allowed = REASONS[kind.name]
    chosen = []
    for value in reasons:
        try:
            reason = SuggestionReason(value)
        except ValueError:
            reason = None
        if reason is None or reason not in allowed:
            choices = ", ".join(sorted(r.value for r in allowed))
            raise ValidationError.on("reason", f"Choose a reason: one of {choices}.")
        chosen.append(reason)
    if not chosen:
        raise ValidationError.on("reason", "Choose the reason of the suggestion.")
    return found, list(dict.fromkeys(chosen))


def _pair(one: uuid.UUID, other: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (one, other) if one < other else (other, one)


def dismiss(
    ctx: Context, kind: RecordKind, reference: str, other: str | None, reasons: Sequence[str]
) -> int:
    """Mark `other` as not related to `reference` for each of `reasons`; how many new."""
    record = subject(ctx, kind, reference)
    found, chosen = _parse(ctx, kind, record, other, reasons)
    pair = _pair(record.id, found.id)
    already = {d.reason for d in queries.dismissals_of_pair(ctx.session, kind.table, pair, chosen)}
    new = [
        SuggestionDismissal(
            team_id=record.team_id,
            record_table=kind.table,
            first_id=pair[0],
            second_id=pair[1],
            reason=reason,
            dismissed_by=ctx.actor.label,
            dismissed_by_id=ctx.actor.user_id,
        )
        for reason in chosen
        if reason not in already
    ]
    if new:
        ctx.session.add_all(new)
        ctx.session.flush()
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.SUGGESTION_DISMISS,
            record,
            detail={"dismissals": [str(d.id) for d in new]},
        )
    return len(new)


def restore(
    ctx: Context, kind: RecordKind, reference: str, other: str | None, reasons: Sequence[str]
) -> int:
    """Let `other` be suggested with `reference` again for `reasons`; how many undone."""
    record = subject(ctx, kind, reference)
    found, chosen = _parse(ctx, kind, record, other, reasons)
    pair = _pair(record.id, found.id)
    gone = [d.id for d in queries.dismissals_of_pair(ctx.session, kind.table, pair, chosen)]
    if gone:
        queries.delete_dismissals(ctx.session, gone)
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.SUGGESTION_RESTORE,
            record,
            detail={"dismissals": [str(i) for i in gone]},
        )
    return len(gone)
