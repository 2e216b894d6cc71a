"""Retention rules and legal holds, set by those who run the installation (users:manage).

A rule says which kind of record (or which of its secret fields) is crypto-shredded after
how long, counted from which of its dates (incidents/records/retention_dates.py). A legal
hold keeps a record whatever the rules say until it is released. Each change is an audit
event; a hold's reason stays out of the log, and must identify no one.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import NotFound, ValidationError
from incidents.models import LegalHold, RetentionRule
from incidents.models.retention import PeriodUnit
from incidents.permissions import Permission, ensure
from incidents.records.kind import RecordKind
from incidents.records.kinds import kind_named, kind_of_reference
from incidents.records.retention_dates import RETAINED_KINDS, from_date, from_dates_of
from incidents.repositories import records as record_queries
from incidents.repositories import retention as retention_queries
from incidents.vault import secret_field_names

MAX_PERIOD = {PeriodUnit.DAYS: 36_500, PeriodUnit.MONTHS: 1_200, PeriodUnit.YEARS: 100}
MAX_REASON = 1000
WHOLE_RECORD = ""  # the field a rule names to shred the whole record


@dataclass(frozen=True)
class NewRule:
    """A rule as typed in: every value as text, checked by `add_rule`."""

    kind: str
    field: str
    period_count: str
    period_unit: str
    from_date: str


def ensure_manager(ctx: Context) -> None:
    ensure(ctx.principal, Permission.USERS_MANAGE)


def all_rules(ctx: Context) -> list[RetentionRule]:
    ensure_manager(ctx)
    return list(retention_queries.rules(ctx.session))


def holds_in_force(ctx: Context) -> list[LegalHold]:
    ensure_manager(ctx)
    return list(retention_queries.holds_in_force(ctx.session))


# -- what a rule says ---------------------------------------------------------------------


def field_label(kind: RecordKind, field: str) -> str:
    try:
        return kind.field(field).label
    except KeyError:
        return field.replace("_", " ")


def secret_fields(kind: RecordKind) -> list[tuple[str, str]]:
    """The secret fields a rule may name for `kind`: (name, label)."""
    return [(name, field_label(kind, name)) for name in secret_field_names(kind.model)]


def period_text(count: int, unit: PeriodUnit) -> str:
    return f"{count} {unit.value[:-1] if count == 1 else unit.value}"


def describe(rule: RetentionRule) -> str:
    """ "source contact: 2 years after its last report was received"."""
    kind = kind_named(rule.kind)
    what = f"{kind.label} {field_label(kind, rule.field)}" if rule.field else f"whole {kind.label}"
    since = from_date(rule.kind, rule.from_date)
    after = since.label if since is not None else rule.from_date
    return f"{what}: {period_text(rule.period_count, rule.period_unit)} after {after}"


def due_date(since: date, count: int, unit: PeriodUnit) -> date:
    """`since` plus the period; a month end stays within its month (31 Jan + 1 month is
    28 or 29 Feb)."""
    if unit is PeriodUnit.DAYS:
        return date.fromordinal(since.toordinal() + count)
    months = since.month - 1 + (count * 12 if unit is PeriodUnit.YEARS else count)
    year, month = since.year + months // 12, months % 12 + 1
    return date(year, month, min(since.day, calendar.monthrange(year, month)[1]))


# -- changing the rules -------------------------------------------------------------------


def add_rule(ctx: Context, new: NewRule) -> RetentionRule:
    """A new rule, or ValidationError naming each field that cannot be accepted."""
    ensure_manager(ctx)
    errors: dict[str, str] = {}
    names = [k.name for k in RETAINED_KINDS]
    kind = kind_named(new.kind) if new.kind in names else None
    if kind is None:
        errors["kind"] = "Choose the kind of record: incident, source, report or person."
    field = new.field.strip() or None
    if kind is not None and field is not None and field not in secret_field_names(kind.model):
        choices = ", ".join(label for _, label in secret_fields(kind))
        errors["field"] = (
            f"A {kind.label} has no secret field {field[:63]!r}; choose one of {choices}, "
            "or the whole record."
        )
    unit = PeriodUnit(new.period_unit) if new.period_unit in set(PeriodUnit) else None
    if unit is None:
        errors["period_unit"] = "Choose days, months or years."
    count = _whole_number(new.period_count.strip())
    top = MAX_PERIOD[unit] if unit is not None else MAX_PERIOD[PeriodUnit.DAYS]
    if count is None or not 1 <= count <= top:
        errors["period_count"] = f"Enter a whole number of {unit or 'days'} from 1 to {top}."
    if kind is not None and from_date(kind.name, new.from_date) is None:
        known = "; ".join(f"{d.key} ({d.label})" for d in from_dates_of(kind.name))
        errors["from_date"] = f"Choose the date it runs from: {known}."
    if errors or kind is None or unit is None or count is None:
        raise ValidationError.of(errors)
    rule = RetentionRule(
        kind=kind.name,
        field=field,
        period_count=count,
        period_unit=unit,
        from_date=new.from_date,
        created_by=ctx.actor.label,
        created_by_id=ctx.actor.user_id,
    )
    ctx.session.add(rule)
    ctx.session.flush()
    _rule_event(ctx, AuditAction.RETENTION_RULE_ADD, rule)
    return rule


def remove_rule(ctx: Context, rule_id: uuid.UUID) -> RetentionRule | None:
    """Remove the rule; None if there is no such rule (removed already, from another tab)."""
    ensure_manager(ctx)
    rule = retention_queries.rule_by_id(ctx.session, rule_id)
    if rule is None:
        return None
    _rule_event(ctx, AuditAction.RETENTION_RULE_REMOVE, rule)
    ctx.session.delete(rule)
    ctx.session.flush()
    return rule


def _rule_event(ctx: Context, action: AuditAction, rule: RetentionRule) -> None:
    detail = {
        "rule": str(rule.id),
        "kind": rule.kind,
        "field": rule.field,
        "period": period_text(rule.period_count, rule.period_unit),
        "from_date": rule.from_date,
    }
    record_event(ctx.session, ctx.actor, action, detail=detail)


def _whole_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


# -- legal holds --------------------------------------------------------------------------


def place_hold(ctx: Context, reference: str, reason: str) -> LegalHold:
    """Keep the record `reference` (an incident: with its reports, their sources and the
    people of its acts) out of every retention run until the hold is released."""
    ensure_manager(ctx)
    reference = reference.strip().upper()
    errors: dict[str, str] = {}
    reason = reason.strip()
    if not reason:
        errors["reason"] = "Give the reason for the hold (a case number, not a name)."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason to at most {MAX_REASON} characters."
    record = _record_to_hold(ctx, reference, errors)
    if errors or record is None:
        raise ValidationError.of(errors)
    kind = kind_of_reference(reference, erasable=True)
    hold = LegalHold(
        record_table=kind.table,
        record_id=record.id,
        reference=reference,
        team_id=record.team_id,
        reason=reason,
        held_by=ctx.actor.label,
        held_by_id=ctx.actor.user_id,
    )
    ctx.session.add(hold)
    ctx.session.flush()
    record_event(
        ctx.session, ctx.actor, AuditAction.LEGAL_HOLD_PLACE, record, detail={"hold": str(hold.id)}
    )
    return hold


def _record_to_hold(ctx: Context, reference: str, errors: dict[str, str]) -> Any:
    example = "Enter the reference of an incident, report, source or person, e.g. RPT-2017-0003."
    try:
        kind = kind_of_reference(reference[:40], erasable=True)
    except NotFound:
        errors["reference"] = example
        return None
    record = record_queries.by_reference(ctx.session, kind.model, reference)
    if record is None:
        errors["reference"] = f"There is no {kind.label} {reference}. {example}"
        return None
    if record_queries.is_erased(ctx.session, kind.table, record.id):
        errors["reference"] = f"{reference} was erased; nothing of it is left to hold."
        return None
    held = retention_queries.hold_in_force(ctx.session, reference)
    if held is not None:
        errors["reference"] = (
            f"{reference} is already under a legal hold, since {held.held_at:%-d %B %Y}."
        )
        return None
    return record


def release_hold(ctx: Context, hold_id: uuid.UUID) -> LegalHold | None:
    """End the hold; None if there is no such hold in force (released already)."""
    ensure_manager(ctx)
    hold = retention_queries.hold_by_id(ctx.session, hold_id)
    if hold is None or hold.released_at is not None:
        return None
    hold.released_at = utcnow()
    hold.released_by = ctx.actor.label
    hold.released_by_id = ctx.actor.user_id
    ctx.session.flush()
    kind = kind_of_reference(hold.reference, erasable=True)
    record = record_queries.by_id(ctx.session, kind.model, hold.record_id)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.LEGAL_HOLD_RELEASE,
        record,
        detail={"hold": str(hold.id)},
    )
    return hold
