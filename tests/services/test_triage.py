"""Triage on SQLite and PostgreSQL: the queue of new reports of the user's teams, oldest
first, keyset-paged with cursors that hostile values cannot break and decrypting nothing;
the three decisions, each one audit event naming the changed fields; and many reports
decided at once, all or nothing, the message naming what could not be changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import Incident, Report, Team, User
from incidents.models.vocabularies import ReportStatus, Role, SourceKind, SourceReliability
from incidents.services import erasure, triage
from incidents.services.triage import Choice, Decision, NotAllDecided, Target
from tests.factories import IncidentFactory, ReportFactory, SourceFactory, TeamFactory, UserFactory
from tests.helpers import count_events, events

ContextFor = Callable[..., Context]


@dataclass
class Desk:
    team: Team
    other: Team
    researcher: User
    incident: Incident
    other_incident: Incident


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team, other = TeamFactory(), TeamFactory()
    return Desk(
        team,
        other,
        UserFactory(role=Role.RESEARCHER, teams=[team]),
        IncidentFactory(team_id=team.id),
        IncidentFactory(team_id=other.id),
    )


@pytest.fixture
def ctx(desk: Desk, context_for: ContextFor) -> Context:
    """The team's researcher."""
    return context_for(desk.researcher)


def _report(team: Team, received: str = "2017-04-01", **values: object) -> Report:
    report: Report = ReportFactory(
        team_id=team.id, received_on=dt.date.fromisoformat(received), **values
    )
    return report


def _all_pages(ctx: Context, limit: int) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(20):
        page = triage.queue(ctx, after=after, limit=limit)
        assert len(page.reports) <= limit
        seen += [row.reference for row in page.reports]
        if page.next_after is None:
            return seen
        after = page.next_after
    raise AssertionError("the pages never ended")


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_holds_the_new_reports_of_the_users_teams_oldest_first(
    desk: Desk, ctx: Context
) -> None:
    late = _report(desk.team, "2017-05-02")
    early = _report(desk.team, "2017-04-20")
    same_day = sorted(
        [_report(desk.team, "2017-04-25"), _report(desk.team, "2017-04-25")], key=lambda r: r.id
    )
    _report(desk.team, "2017-01-01", status=ReportStatus.TRIAGED)
    _report(desk.team, "2017-01-01", status=ReportStatus.REJECTED)
    _report(desk.other, "2017-01-01")  # another team's: never shown
    erased = _report(desk.team, "2017-01-01")
    erasure.erase_record(ctx, erased.reference, "entered_in_error")

    page = triage.queue(ctx)

    expected = [early, *same_day, late]
    assert [row.reference for row in page.reports] == [r.reference for r in expected]
    assert page.next_after is None


def test_a_researcher_of_two_teams_sees_both_queues(desk: Desk, context_for: ContextFor) -> None:
    ours, theirs = _report(desk.team, "2017-04-02"), _report(desk.other, "2017-04-01")
    both = UserFactory(role=Role.RESEARCHER, teams=[desk.team, desk.other])
    page = triage.queue(context_for(both))
    assert [row.reference for row in page.reports] == [theirs.reference, ours.reference]


def test_a_row_shows_the_grade_and_decrypts_nothing(
    desk: Desk, ctx: Context, db_session: Session
) -> None:
    source = SourceFactory(
        team_id=desk.team.id, kind=SourceKind.JOURNALIST, reliability=SourceReliability.B
    )
    rated = _report(desk.team, "2017-04-01", source_id=source.id, credibility=2)
    unsourced = _report(desk.team, "2017-04-02", credibility=3)
    decryptions = count_events(db_session, AuditAction.SECRET_DECRYPT)

    first, second = triage.queue(ctx).reports

    assert (first.reference, first.title, first.received_on) == (
        rated.reference,
        rated.title,
        dt.date(2017, 4, 1),
    )
    assert (first.source_kind, first.source_reliability, first.credibility) == (
        SourceKind.JOURNALIST,
        SourceReliability.B,
        2,
    )
    assert first.grade == "B2"
    assert (second.reference, second.source_kind, second.grade) == (
        unsourced.reference,
        None,
        "–3",
    )
    assert not hasattr(first, "narrative")
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == decryptions


def test_the_pages_walk_every_report_once_in_order(desk: Desk, ctx: Context) -> None:
    made = [_report(desk.team, f"2017-04-{day:02d}") for day in (3, 1, 2, 2, 2, 5, 4)]
    expected = [r.reference for r in sorted(made, key=lambda r: (r.received_on, r.id))]
    assert _all_pages(ctx, limit=2) == expected
    assert _all_pages(ctx, limit=3) == expected
    assert _all_pages(ctx, limit=50) == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x",
        "2017-02-30." + "0" * 32,  # no such day
        "0000-01-01." + "0" * 32,  # no year 0
        "2017-04-01." + "G" * 32,
        "2017-04-01." + "a" * 31,
        "2017-04-01." + "a" * 33,
        "２０１７-０４-０１." + "a" * 32,  # digits of another script
        "2017-04-01." + "a" * 32 + "\n",
        "'; DROP TABLE reports; --",
        "2017-04-01\x00." + "a" * 32,
        "9" * 100_000,
        "%00%27",
    ],
)
def test_a_cursor_that_cannot_be_read_gives_the_first_page(
    desk: Desk, ctx: Context, cursor: str
) -> None:
    first = _report(desk.team, "2017-04-01")
    page = triage.queue(ctx, after=cursor)
    assert [row.reference for row in page.reports] == [first.reference]


def test_the_page_size_is_bounded(desk: Desk, ctx: Context) -> None:
    made = [_report(desk.team) for _ in range(3)]
    assert len(triage.queue(ctx, limit=0).reports) == 1
    assert len(triage.queue(ctx, limit=-5).reports) == 1
    assert len(triage.queue(ctx, limit=10**9).reports) == len(made)


@pytest.mark.parametrize("role", [Role.ADVOCACY_LEAD, Role.AUDITOR, Role.ADMIN])
def test_triage_is_for_researchers(desk: Desk, context_for: ContextFor, role: Role) -> None:
    report = _report(desk.team)
    other = context_for(UserFactory(role=role, teams=[desk.team]))
    with pytest.raises(PermissionDenied):
        triage.queue(other)
    with pytest.raises(PermissionDenied):
        triage.mark_triaged(other, report.reference, lock_version=report.lock_version)
    with pytest.raises(PermissionDenied):
        triage.decide_many(
            other, [Target(report.reference, report.lock_version)], Choice(Decision.TRIAGED)
        )
    with pytest.raises(PermissionDenied):
        triage.queue(context_for(None))
    assert report.status is ReportStatus.NEW


# -- one report at a time -------------------------------------------------------------------------


def _update_events(session: Session, report: Report) -> list[list[str]]:
    return [sorted(e.fields) for e in events(session, AuditAction.RECORD_UPDATE, report)]


def test_marking_a_report_triaged_is_one_audit_event(
    desk: Desk, ctx: Context, db_session: Session
) -> None:
    report = _report(desk.team)
    triage.mark_triaged(ctx, report.reference, lock_version=report.lock_version)
    assert report.status is ReportStatus.TRIAGED
    assert report.incident_id is None
    assert _update_events(db_session, report) == [["status"]]
    assert triage.queue(ctx).reports == ()


def test_linking_a_report_to_an_incident_of_its_team(
    desk: Desk, ctx: Context, db_session: Session
) -> None:
    report = _report(desk.team)
    triage.link_to_incident(
        ctx, report.reference, desk.incident.reference.lower(), lock_version=report.lock_version
    )
    assert (report.status, report.incident_id) == (ReportStatus.LINKED, desk.incident.id)
    assert _update_events(db_session, report) == [["incident", "status"]]


@pytest.mark.parametrize("whose", ["other team", "none", "malformed", "empty"])
def test_an_incident_of_another_team_is_no_such_incident(
    desk: Desk, ctx: Context, db_session: Session, whose: str
) -> None:
    report = _report(desk.team)
    incident = {
        "other team": desk.other_incident.reference,
        "none": "INC-2017-9999",
        "malformed": "INC-\x00" + "9" * 100,
        "empty": "  ",
    }[whose]
    with pytest.raises(ValidationError) as refused:
        triage.link_to_incident(ctx, report.reference, incident, lock_version=report.lock_version)
    message = refused.value.errors["incident"]
    if whose in ("other team", "none"):
        assert message == f"There is no incident {incident} in this team; check the reference."
    assert (report.status, report.incident_id) == (ReportStatus.NEW, None)
    assert _update_events(db_session, report) == []


def test_rejecting_keeps_the_reason(desk: Desk, ctx: Context, db_session: Session) -> None:
    report = _report(desk.team)
    reason = "A duplicate of an earlier report by the same caller."
    triage.reject(ctx, report.reference, f"  {reason} ", lock_version=report.lock_version)
    assert (report.status, report.rejection_reason) == (ReportStatus.REJECTED, reason)
    [fields] = _update_events(db_session, report)
    assert fields == ["rejection_reason", "status"]
    assert reason not in str(events(db_session, AuditAction.RECORD_UPDATE, report)[0].detail)


def test_rejecting_a_triaged_report_unlinks_it(
    desk: Desk, ctx: Context, db_session: Session
) -> None:
    report = _report(desk.team, status=ReportStatus.TRIAGED, incident_id=desk.incident.id)
    triage.reject(ctx, report.reference, "Not about this incident.", lock_version=1)
    assert (report.status, report.incident_id) == (ReportStatus.REJECTED, None)
    assert _update_events(db_session, report) == [["incident", "rejection_reason", "status"]]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Give the reason for rejecting it."),
        (" \n ", "Give the reason for rejecting it."),
        ("x" * 2001, "Use at most 2,000 characters."),
        ("a\x00b", "Remove the control characters."),
    ],
)
def test_a_rejection_needs_a_reason(
    desk: Desk, ctx: Context, db_session: Session, reason: str, message: str
) -> None:
    report = _report(desk.team)
    with pytest.raises(ValidationError) as refused:
        triage.reject(ctx, report.reference, reason, lock_version=report.lock_version)
    assert refused.value.errors == {"rejection_reason": message}
    assert (report.status, report.rejection_reason) == (ReportStatus.NEW, None)
    assert _update_events(db_session, report) == []


def test_a_decision_from_an_old_version_is_refused(desk: Desk, ctx: Context) -> None:
    report = _report(desk.team)
    seen = report.lock_version
    triage.mark_triaged(ctx, report.reference, lock_version=seen)  # someone else, meanwhile
    with pytest.raises(ValidationError) as refused:
        triage.reject(ctx, report.reference, "Not credible.", lock_version=seen)
    assert "changed by someone else" in refused.value.errors["report"]
    assert (report.status, report.rejection_reason) == (ReportStatus.TRIAGED, None)


def test_a_report_decided_already_is_changed_on_its_own_page(desk: Desk, ctx: Context) -> None:
    report = _report(desk.team, status=ReportStatus.LINKED, incident_id=desk.incident.id)
    with pytest.raises(ValidationError) as refused:
        triage.mark_triaged(ctx, report.reference, lock_version=report.lock_version)
    assert refused.value.errors["report"].endswith("is already linked; change it on its own page.")
    assert report.status is ReportStatus.LINKED


def test_an_erased_report_cannot_be_decided(desk: Desk, ctx: Context) -> None:
    report = _report(desk.team)
    erasure.erase_record(ctx, report.reference, "entered_in_error")
    with pytest.raises(ValidationError) as refused:
        triage.mark_triaged(ctx, report.reference, lock_version=report.lock_version)
    assert "was erased" in refused.value.errors["report"]


def test_a_report_of_another_team_does_not_exist(desk: Desk, ctx: Context) -> None:
    theirs = _report(desk.other)
    with pytest.raises(NotFound):
        triage.mark_triaged(ctx, theirs.reference, lock_version=theirs.lock_version)
    # Named in a form, another team's report and no report are refused alike.
    refusals = []
    for reference in (theirs.reference, "RPT-2017-9999"):
        with pytest.raises(ValidationError) as refused:
            triage.decide(ctx, Target(reference, 1), Choice(Decision.TRIAGED))
        refusals.append(refused.value.errors["report"].replace(reference, "REF"))
    assert refusals == ["There is no report REF in your teams."] * 2
    assert theirs.status is ReportStatus.NEW


@pytest.mark.parametrize("reference", ["RPT-\x00", "x" * 100_000, "INC-2017-0001", ""])
def test_a_malformed_report_reference_is_no_report(
    desk: Desk, ctx: Context, reference: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        triage.decide(ctx, Target(reference, 1), Choice(Decision.TRIAGED))
    assert refused.value.errors["report"].startswith("There is no report")
    assert len(refused.value.errors["report"]) < 100


# -- many at once ---------------------------------------------------------------------------------


def _targets(*reports: Report) -> list[Target]:
    return [Target(r.reference, r.lock_version) for r in reports]


@pytest.mark.parametrize(
    ("choice", "status", "fields"),
    [
        (Choice(Decision.TRIAGED), ReportStatus.TRIAGED, ["status"]),
        (
            Choice(Decision.REJECTED, reason="Spam."),
            ReportStatus.REJECTED,
            ["rejection_reason", "status"],
        ),
    ],
)
def test_many_reports_at_once_each_their_own_audit_event(
    desk: Desk,
    ctx: Context,
    db_session: Session,
    choice: Choice,
    status: ReportStatus,
    fields: list[str],
) -> None:
    reports = [_report(desk.team) for _ in range(3)]
    decided = triage.decide_many(ctx, _targets(*reports), choice)
    assert [r.reference for r in decided] == [r.reference for r in reports]
    for report in reports:
        assert report.status is status
        assert _update_events(db_session, report) == [fields]


def test_many_reports_linked_at_once(desk: Desk, ctx: Context, db_session: Session) -> None:
    reports = [_report(desk.team) for _ in range(2)]
    triage.decide_many(
        ctx, _targets(*reports), Choice(Decision.LINKED, incident=desk.incident.reference)
    )
    assert {r.incident_id for r in reports} == {desk.incident.id}
    assert [_update_events(db_session, r) for r in reports] == [[["incident", "status"]]] * 2


def _unchanged(session: Session, reports: list[Report]) -> None:
    for report in reports:
        session.refresh(report)
        assert (report.status, report.incident_id, report.rejection_reason) == (
            ReportStatus.NEW,
            None,
            None,
        )
        assert _update_events(session, report) == []


@pytest.mark.parametrize("spoiler", ["edited meanwhile", "erased", "another team", "no report"])
def test_many_at_once_is_all_or_nothing(
    desk: Desk, ctx: Context, db_session: Session, spoiler: str
) -> None:
    good = [_report(desk.team) for _ in range(3)]
    bad = _report(desk.other if spoiler == "another team" else desk.team)
    target = Target(bad.reference, bad.lock_version)
    if spoiler == "edited meanwhile":
        triage.link_to_incident(
            ctx, bad.reference, desk.incident.reference, lock_version=bad.lock_version
        )
    elif spoiler == "erased":
        erasure.erase_record(ctx, bad.reference, "entered_in_error")
    elif spoiler == "no report":
        target = Target("RPT-2017-9999", 1)
    before = count_events(db_session, AuditAction.RECORD_UPDATE)
    targets = [*_targets(*good[:2]), target, *_targets(good[2])]

    with pytest.raises(NotAllDecided) as refused:
        triage.decide_many(ctx, targets, Choice(Decision.REJECTED, reason="Not credible."))

    assert list(refused.value.problems) == [target.reference]
    assert target.reference in refused.value.errors["reports"]
    assert refused.value.errors["reports"].startswith("Nothing was saved")
    assert count_events(db_session, AuditAction.RECORD_UPDATE) == before
    _unchanged(db_session, good)
    # The session goes on: the same reports, without the spoiler, are decided.
    triage.decide_many(ctx, _targets(*good), Choice(Decision.TRIAGED))
    assert [r.status for r in good] == [ReportStatus.TRIAGED] * 3


def test_the_message_names_every_report_that_could_not_be_changed(desk: Desk, ctx: Context) -> None:
    first, good, last = _report(desk.team), _report(desk.team), _report(desk.team)
    for stale in (first, last):
        triage.mark_triaged(ctx, stale.reference, lock_version=stale.lock_version)
    with pytest.raises(NotAllDecided) as refused:
        triage.decide_many(
            ctx,
            [Target(r.reference, 1) for r in (first, good, last)],
            Choice(Decision.TRIAGED),
        )
    assert list(refused.value.problems) == [first.reference, last.reference]
    assert f"{first.reference}, {last.reference} could not be changed" in str(refused.value)
    assert good.status is ReportStatus.NEW


def test_linking_many_to_an_incident_of_another_team_is_refused_beside_the_incident(
    desk: Desk, ctx: Context, db_session: Session
) -> None:
    reports = [_report(desk.team) for _ in range(2)]
    incident = desk.other_incident.reference
    with pytest.raises(ValidationError) as refused:
        triage.decide_many(ctx, _targets(*reports), Choice(Decision.LINKED, incident=incident))
    assert refused.value.errors == {
        "incident": f"There is no incident {incident} in your teams; check the reference."
    }
    _unchanged(db_session, reports)


def test_many_at_once_checks_what_the_decision_needs_first(desk: Desk, ctx: Context) -> None:
    report = _report(desk.team)
    with pytest.raises(ValidationError) as no_reason:
        triage.decide_many(ctx, _targets(report), Choice(Decision.REJECTED, reason=" "))
    assert list(no_reason.value.errors) == ["rejection_reason"]
    with pytest.raises(ValidationError) as none_chosen:
        triage.decide_many(ctx, [], Choice(Decision.TRIAGED))
    assert none_chosen.value.errors == {"reports": "Choose at least one report."}
    too_many = [Target(f"RPT-2017-{n:04d}", 1) for n in range(triage.MAX_AT_ONCE + 1)]
    with pytest.raises(ValidationError) as over:
        triage.decide_many(ctx, too_many, Choice(Decision.TRIAGED))
    assert "at most" in over.value.errors["reports"]


def test_a_report_sent_twice_is_decided_once(desk: Desk, ctx: Context, db_session: Session) -> None:
    report = _report(desk.team)
    triage.decide_many(ctx, _targets(report, report), Choice(Decision.TRIAGED))
    assert _update_events(db_session, report) == [["status"]]
