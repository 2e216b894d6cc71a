"""Retention: the plan lists exactly what is due, a run leaves nothing of it decryptable
and everything else intact, held records are skipped, and a stopped run resumes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.errors import PermissionDenied, ValidationError
from incidents.models import BlindIndexEntry, DataKey, Erasure
from incidents.models.retention import PeriodUnit
from incidents.models.vocabularies import Role
from incidents.services import retention, retention_rules
from incidents.services.retention_rules import NewRule, due_date
from tests.factories import IncidentFactory, PersonFactory, ReportFactory, UserFactory
from tests.helpers import events
from tests.services import retention_world
from tests.services.retention_world import RetentionWorld

ContextFor = Callable[..., Context]


@pytest.fixture
def world(ctx: Context, db_session: Session) -> RetentionWorld:
    return retention_world.build(ctx, db_session)


def _data_keys(session: Session, record_id: object) -> int:
    query = select(func.count()).select_from(DataKey).where(DataKey.record_id == record_id)
    return int(session.scalar(query) or 0)


def _planned(plan: retention.RetentionPlan) -> set[tuple[str, str | None]]:
    return {(item.reference, item.field) for item in plan.due}


def test_due_dates_keep_month_ends_within_the_month() -> None:
    assert due_date(dt.date(2025, 1, 31), 1, PeriodUnit.MONTHS) == dt.date(2025, 2, 28)
    assert due_date(dt.date(2024, 2, 29), 1, PeriodUnit.YEARS) == dt.date(2025, 2, 28)
    assert due_date(dt.date(2025, 11, 30), 3, PeriodUnit.MONTHS) == dt.date(2026, 2, 28)
    assert due_date(dt.date(2025, 12, 31), 1, PeriodUnit.DAYS) == dt.date(2026, 1, 1)
    assert due_date(dt.date(2025, 3, 12), 2, PeriodUnit.YEARS) == dt.date(2027, 3, 12)


def test_the_plan_lists_exactly_the_records_due(ctx: Context, world: RetentionWorld) -> None:
    plan = retention.plan(ctx, team_id=world.team_id, today=world.today)
    assert _planned(plan) == world.due()
    assert len(plan.due) == len(world.due()), "an item listed twice"
    assert plan.held == ()
    item = next(i for i in plan.due if i.field == "contact")
    assert item.rule == "source contact: 2 years after its last report was received"
    assert item.due_on <= world.today
    # The day after, the records due tomorrow are due too.
    later = retention.plan(ctx, team_id=world.team_id, today=world.today + dt.timedelta(1))
    assert len(later.due) == len(world.due()) + len(world.not_due())


def test_apply_leaves_nothing_of_the_due_decryptable_and_the_rest_intact(
    ctx: Context, db_session: Session, world: RetentionWorld
) -> None:
    plan = retention.plan(ctx, team_id=world.team_id, today=world.today)
    outcome = retention.apply(ctx, plan)
    assert (outcome.shredded, outcome.skipped) == (len(world.due()), 0)

    for name, by_offset in world.records.items():
        rule = world.rules[name]
        for offset, record in by_offset.items():
            db_session.refresh(record)
            if offset == "tomorrow":
                _assert_intact(ctx, db_session, name, record)
            elif rule.field is None:  # the whole record: its data key is gone
                assert _data_keys(db_session, record.id) == 0
                tombstone = db_session.scalars(
                    select(Erasure).where(Erasure.record_id == record.id)
                ).one()
                assert str(tombstone.reason_code) == "retention"
            else:  # the field's ciphertext is gone; the other fields still open
                assert getattr(record, rule.field) is None
                assert ctx.vault.unseal(record, rule.field) == {rule.field: None}
                assert _data_keys(db_session, record.id) == 1
                if name == "source contact":
                    opened = ctx.vault.unseal(record, "identity")
                    assert opened["identity"] == retention_world.SOURCE_SECRETS["identity"]
    shreds = events(db_session, "retention.field_shred")
    assert len(shreds) == 4  # two sources' contact and two reports' narrative
    assert all(e.detail["rule"] for e in shreds) and all(e.fields for e in shreds)
    assert len(events(db_session, "record.erase")) == 4  # two people, two incidents
    # Nothing is left due: a second run has nothing to do.
    assert retention.plan(ctx, team_id=world.team_id, today=world.today).due == ()


def _assert_intact(ctx: Context, session: Session, name: str, record: object) -> None:
    assert _data_keys(session, record.id) == 1  # type: ignore[attr-defined]
    if name == "source contact":
        assert ctx.vault.unseal(record, "contact", "identity") == retention_world.SOURCE_SECRETS
    elif name == "report narrative":
        expected = {"narrative": retention_world.REPORT_SECRET}
        assert ctx.vault.unseal(record, "narrative") == expected
    elif name == "person":
        opened = ctx.vault.unseal(record, "full_name", "contact")
        assert opened == retention_world.PERSON_SECRETS
    else:
        opened = ctx.vault.unseal(record, "narrative", "place_detail")
        assert opened == retention_world.INCIDENT_SECRETS


def test_an_indexed_field_loses_its_entries_and_the_others_keep_theirs(
    ctx: Context, db_session: Session
) -> None:
    person = PersonFactory(secrets={"full_name": "Adam Indexov", "aliases": "Adik"})
    before = _entries(db_session, person.id)
    retention_rules.add_rule(ctx, NewRule("person", "aliases", "1", "days", "created_at"))
    plan = retention.plan(ctx, team_id=person.team_id, today=dt.date.today() + dt.timedelta(2))
    retention.apply(ctx, plan)
    db_session.refresh(person)
    assert person.aliases is None
    assert ctx.vault.unseal(person, "full_name") == {"full_name": "Adam Indexov"}
    after = _entries(db_session, person.id)
    assert 0 < after < before  # the alias's entries went, the full name's stayed


def _entries(session: Session, record_id: object) -> int:
    query = select(func.count()).select_from(BlindIndexEntry)
    return int(session.scalar(query.where(BlindIndexEntry.record_id == record_id)) or 0)


def test_held_records_are_skipped_and_listed(
    ctx: Context, db_session: Session, world: RetentionWorld
) -> None:
    person = world.records["person"]["today"]
    incident = world.records["incident"]["overdue"]
    rejected = world.records["report narrative"]["today"]
    # Held with the incident it belongs to (linked past the ORM: its date stays).
    retention_world.set_dates(
        db_session, rejected, incident_id=incident.id, updated_at=rejected.updated_at
    )
    retention_rules.place_hold(ctx, person.reference, "Court order 2026/114")
    retention_rules.place_hold(ctx, incident.reference, "Case before the ECtHR")

    plan = retention.plan(ctx, team_id=world.team_id, today=world.today)
    held = {(h.item.reference, h.hold.reference) for h in plan.held}
    assert held == {
        (person.reference, person.reference),
        (incident.reference, incident.reference),
        (rejected.reference, incident.reference),
    }
    assert _planned(plan) == world.due() - {(r, f) for r, f in world.due() if r in dict(held)}
    retention.apply(ctx, plan)
    for record in (person, incident, rejected):
        db_session.refresh(record)
        assert _data_keys(db_session, record.id) == 1
    assert ctx.vault.unseal(rejected, "narrative") == {"narrative": retention_world.REPORT_SECRET}


def test_a_hold_placed_after_the_plan_still_keeps_the_record(
    ctx: Context, db_session: Session, world: RetentionWorld
) -> None:
    plan = retention.plan(ctx, team_id=world.team_id, today=world.today)
    person = world.records["person"]["today"]
    retention_rules.place_hold(ctx, person.reference, "Court order 2026/115")
    outcome = retention.apply(ctx, plan)
    assert outcome.skipped == 1
    assert _data_keys(db_session, person.id) == 1


def test_a_stopped_run_resumes_with_what_is_still_due(
    ctx: Context, db_session: Session, world: RetentionWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    shred = retention._shred_item
    calls = []

    def fail_after_three(context: Context, item: retention.DueItem) -> None:
        if len(calls) == 3:
            raise RuntimeError("killed")
        calls.append(item.reference)
        shred(context, item)

    monkeypatch.setattr(retention, "_shred_item", fail_after_three)
    plan = retention.plan(ctx, team_id=world.team_id, today=world.today)
    with pytest.raises(RuntimeError, match="killed"):
        retention.apply(ctx, plan, lambda _count: db_session.commit())
    db_session.rollback()
    left = retention.plan(ctx, team_id=world.team_id, today=world.today)
    assert _planned(left) == world.due() - {(i.reference, i.field) for i in plan.due[:3]}
    monkeypatch.setattr(retention, "_shred_item", shred)
    retention.apply(ctx, left, lambda _count: db_session.commit())
    assert retention.plan(ctx, team_id=world.team_id, today=world.today).due == ()


def test_rules_are_checked_field_by_field(ctx: Context) -> None:
    with pytest.raises(ValidationError) as refused:
        retention_rules.add_rule(ctx, NewRule("source", "name", "0", "weeks", "rejected_on"))
    assert set(refused.value.errors) == {"field", "period_count", "period_unit", "from_date"}
    with pytest.raises(ValidationError) as refused:
        retention_rules.add_rule(ctx, NewRule("consent", "", "1", "days", "created_at"))
    assert set(refused.value.errors) == {"kind"}
    rule = retention_rules.add_rule(ctx, NewRule("report", "", "18", "months", "received_on"))
    assert retention_rules.describe(rule) == "whole report: 18 months after it was received"


def test_holds_are_checked(ctx: Context) -> None:
    report = ReportFactory()
    for reference, reason, field in (
        ("RPT-2017-99999", "a reason", "reference"),
        ("SRC-x", "a reason", "reference"),
        (report.reference, " ", "reason"),
    ):
        with pytest.raises(ValidationError) as refused:
            retention_rules.place_hold(ctx, reference, reason)
        assert set(refused.value.errors) == {field}
    hold = retention_rules.place_hold(ctx, report.reference.lower(), "Court order 7")
    with pytest.raises(ValidationError, match="already under a legal hold"):
        retention_rules.place_hold(ctx, report.reference, "again")
    assert retention_rules.release_hold(ctx, hold.id) is hold
    assert retention_rules.release_hold(ctx, hold.id) is None  # released already


def test_only_administrators_set_rules_and_only_the_operator_runs_them(
    context_for: ContextFor,
) -> None:
    researcher = context_for(UserFactory())
    with pytest.raises(PermissionDenied):
        retention_rules.add_rule(researcher, NewRule("report", "", "1", "days", "created_at"))
    admin = context_for(UserFactory(role=Role.ADMIN))
    retention_rules.add_rule(admin, NewRule("report", "", "1", "days", "created_at"))
    with pytest.raises(PermissionDenied):
        retention.plan(admin)


def test_the_notice_on_a_record_says_when_and_under_which_rule(
    ctx: Context, context_for: ContextFor, world: RetentionWorld
) -> None:
    source = world.records["source contact"]["tomorrow"]
    notice = retention.notice(ctx, source.reference, today=world.today)
    assert notice is not None and notice.hold is None
    (item,) = notice.due
    assert item.due_on == world.today + dt.timedelta(1)
    assert item.field == "contact"
    assert retention.notice(ctx, IncidentFactory().reference, today=world.today) is not None
    advocacy = context_for(UserFactory(role=Role.ADVOCACY_LEAD))
    assert retention.notice(advocacy, source.reference, today=world.today) is None
