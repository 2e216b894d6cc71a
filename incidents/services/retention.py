"""What the retention rules say is due, and shredding it: the plan, the run, the notice.

A record is due under a rule once the rule's period has passed since the record's date
(incidents/records/retention_dates.py). A whole record is erased through the erasure
service, with the reason "retention"; a single secret field is cleared in the row
(incidents/services/retention_shred.py). A record under a legal hold is never shredded:
the plan lists it apart. A run shreds one record at a time, each in its own transaction:
what it has shredded is no longer due, so a run stopped half-way and started again
picks up exactly what is still due.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import NotFound, PermissionDenied
from incidents.models import LegalHold, RetentionRule
from incidents.models.vocabularies import ErasureReason
from incidents.permissions import Operator, Permission, can
from incidents.records.kinds import kind_named, kind_of_reference
from incidents.records.retention_dates import RETAINED_KINDS
from incidents.repositories import records as record_queries
from incidents.repositories import retention as retention_queries
from incidents.services import erasure, records
from incidents.services.retention_rules import describe, due_date, field_label
from incidents.services.retention_shred import shred_field


@dataclass(frozen=True)
class DueItem:
    """One shred a rule calls for: the whole record (`field` None) or one secret field."""

    reference: str
    kind: str
    field: str | None
    record_id: uuid.UUID
    team_id: uuid.UUID
    rule_id: uuid.UUID
    rule: str  # the rule, described
    due_on: date
    label: str = "whole record"  # or the field's label: "contact"

    @property
    def what(self) -> str:
        return self.field or "whole record"


@dataclass(frozen=True)
class HeldItem:
    item: DueItem
    hold: LegalHold


@dataclass(frozen=True)
class RetentionPlan:
    today: date
    due: tuple[DueItem, ...]
    held: tuple[HeldItem, ...]


@dataclass(frozen=True)
class RunOutcome:
    shredded: int
    skipped: int  # held, shredded or released meanwhile: no longer due when its turn came


def _ensure_operator(ctx: Context) -> None:
    """Runs are the operator's: they act on every team at once, as a key rotation does."""
    if not isinstance(ctx.principal, Operator):
        raise PermissionDenied("retention runs are started at the command line")


def plan(
    ctx: Context, *, team_id: uuid.UUID | None = None, today: date | None = None
) -> RetentionPlan:
    """Every shred due on `today` (the UTC date by default), of one team or all."""
    _ensure_operator(ctx)
    today = today or _today()
    due, held = _items(ctx, today, team_id=team_id)
    return RetentionPlan(today, tuple(due), tuple(held))


def apply(
    ctx: Context, chosen: RetentionPlan, each_done: Callable[[int], None] | None = None
) -> RunOutcome:
    """Shred every item of `chosen` still due, one at a time; `each_done(1)` after each
    (the command line commits there, so each shred is a transaction of its own)."""
    _ensure_operator(ctx)
    shredded = skipped = 0
    for item in chosen.due:
        try:
            if _still_due(ctx, item, chosen.today):
                _shred_item(ctx, item)
                shredded += 1
            else:
                skipped += 1
        except erasure.AlreadyErased:  # by someone else, between the check and the erase
            skipped += 1
        if each_done is not None:
            each_done(1)
    return RunOutcome(shredded, skipped)


def _shred_item(ctx: Context, item: DueItem) -> None:
    if item.field is None:
        erasure.erase_record(
            ctx, item.reference, ErasureReason.RETENTION, note=f"Retention rule: {item.rule}."
        )
        return
    kind = kind_named(item.kind)
    record = record_queries.by_id(ctx.session, kind.model, item.record_id)
    shred_field(ctx, kind, record, item.field, item.rule_id)


def _still_due(ctx: Context, item: DueItem, today: date) -> bool:
    """Whether the item is still due now, in this transaction: not held since the plan,
    not shredded by a run beside this one, its rule not removed."""
    if item.record_id in retention_queries.held_records(ctx.session):
        return False
    rule = retention_queries.rule_by_id(ctx.session, item.rule_id)
    if rule is None:
        return False
    kind = kind_named(item.kind)
    found = retention_queries.dated_records(
        ctx.session, kind, rule.from_date, rule.field, record_ids=[item.record_id]
    )
    return any(due_date(r.since, rule.period_count, rule.period_unit) <= today for r in found)


def _items(
    ctx: Context,
    today: date,
    *,
    team_id: uuid.UUID | None = None,
    record_ids: list[uuid.UUID] | None = None,
    upcoming: bool = False,
) -> tuple[list[DueItem], list[HeldItem]]:
    """The items of every rule due by `today` (with `upcoming`, whenever they fall due),
    apart from the held ones. A record due as a whole is not also listed for a field,
    and a field due under two rules is listed once, under the earliest."""
    held_ids = retention_queries.held_records(ctx.session)
    found: dict[tuple[uuid.UUID, str | None], DueItem] = {}
    for rule in retention_queries.rules(ctx.session):
        for item in _rule_items(ctx, rule, team_id, record_ids):
            if not upcoming and item.due_on > today:
                continue
            key = (item.record_id, item.field)
            if key not in found or item.due_on < found[key].due_on:
                found[key] = item
    whole = {record_id for record_id, field in found if field is None}
    kept = [i for i in found.values() if i.field is None or i.record_id not in whole]
    kept.sort(key=lambda i: (i.due_on, i.reference, i.field or ""))
    due = [i for i in kept if i.record_id not in held_ids]
    held = [HeldItem(i, held_ids[i.record_id]) for i in kept if i.record_id in held_ids]
    return due, held


def _rule_items(
    ctx: Context,
    rule: RetentionRule,
    team_id: uuid.UUID | None,
    record_ids: list[uuid.UUID] | None,
) -> list[DueItem]:
    kind = kind_named(rule.kind)
    if kind not in RETAINED_KINDS:  # a kind a newer version no longer retains by rule
        return []
    text = describe(rule)
    return [
        DueItem(
            reference=found.reference,
            kind=kind.name,
            field=rule.field,
            record_id=found.id,
            team_id=found.team_id,
            rule_id=rule.id,
            rule=text,
            due_on=due_date(found.since, rule.period_count, rule.period_unit),
            label=field_label(kind, rule.field) if rule.field else "whole record",
        )
        for found in retention_queries.dated_records(
            ctx.session, kind, rule.from_date, rule.field, team_id=team_id, record_ids=record_ids
        )
    ]


def _today() -> date:
    return utcnow().date()


# -- on a record's page -------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionNotice:
    """When the record (or one of its fields) is due for retention erasure, and whether a
    legal hold keeps it."""

    today: date
    due: tuple[DueItem, ...]
    hold: LegalHold | None


def notice(ctx: Context, reference: str, today: date | None = None) -> RetentionNotice | None:
    """For those who may edit the record: what the rules will shred of it and when; None
    for anyone else, and for a record no rule concerns."""
    try:
        kind = kind_of_reference(reference, erasable=True)
        record = records.find(ctx, kind, reference, Permission.CASE_WRITE)
    except (NotFound, PermissionDenied):
        return None
    if not can(ctx.principal, Permission.CASE_WRITE, record):
        return None
    today = today or _today()
    due, held = _items(ctx, today, record_ids=[record.id], upcoming=True)
    items = tuple(sorted([*due, *(h.item for h in held)], key=lambda i: i.due_on))
    if not items:
        return None
    return RetentionNotice(today, items, held[0].hold if held else None)
