"""What a withdrawn consent reaches, on SQLite and PostgreSQL: withdrawing consent to be
kept puts the record (a person; a source and its reports) in its team's erasure review
queue, seen by the team's researchers only; each item is erased (a tombstone, reason
"consent withdrawn") or kept with a justification, once, and audited without the note.
Withdrawing any other use names the summaries and exports that already used it, and
those made later leave the report out; links are flagged, and later ones refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import (
    Consent,
    Erasure,
    ErasureReview,
    Incident,
    Person,
    ReportDisclosure,
    ReviewState,
    Source,
    Team,
    User,
)
from incidents.models.vocabularies import ActionKind, ConsentUse, ErasureReason, Role
from incidents.redaction import Profile
from incidents.services import (
    action_links,
    advocacy_work,
    consent,
    erasure_reviews,
    export,
    summaries,
)
from incidents.services.erasure import erase_record
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    AdvocacyActionFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import events

KEEP, PARTNERS = ConsentUse.KEEP, ConsentUse.SHARE_WITH_PARTNERS
ADVOCACY = ConsentUse.ANONYMISED_ADVOCACY
JUSTIFICATION = "CANARY-review-note-4Q7: a court ordered it kept"


@dataclass
class Desk:
    team: Team
    researcher: User
    advocate: User
    auditor: User
    stranger: User  # a researcher of another team
    person: Person
    source: Source
    incident: Incident


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team = TeamFactory()
    return Desk(
        team,
        UserFactory(role=Role.RESEARCHER, teams=[team]),
        UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]),
        UserFactory(role=Role.AUDITOR, teams=[team]),
        UserFactory(role=Role.RESEARCHER, teams=[TeamFactory()]),
        PersonFactory(team_id=team.id),
        SourceFactory(team_id=team.id),
        IncidentFactory(team_id=team.id),
    )


@pytest.fixture
def as_researcher(context_for: Callable[..., Context], desk: Desk) -> Context:
    return context_for(desk.researcher)


def _grant(ctx: Context, owner: Person | Source, use: ConsentUse) -> Consent:
    return consent.grant(ctx, owner, {"use": use.value, "granted_on": "2017-04-20"})


def _withdraw(ctx: Context, grant: Consent, day: str = "2018-01-10") -> consent.Revocation:
    return consent.revoke(ctx, grant.id, day, grant.lock_version)


def _pending(session: Session) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(ErasureReview).where(ErasureReview.state == ReviewState.PENDING)
    ).all()
    return sorted((r.kind, r.reference) for r in rows)


# -- raising -----------------------------------------------------------------------------


def test_withdrawing_a_sources_consent_to_keep_queues_it_and_its_reports(
    as_researcher: Context, desk: Desk, db_session: Session, ctx: Context
) -> None:
    first = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    second = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    gone = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    ReportFactory(team_id=desk.team.id)  # another source's
    erase_record(ctx, gone.reference, ErasureReason.DUPLICATE)
    revocation = _withdraw(as_researcher, _grant(as_researcher, desk.source, KEEP))
    expected = [
        ("report", first.reference),
        ("report", second.reference),
        ("source", desk.source.reference),
    ]
    assert _pending(db_session) == expected
    assert [r.reference for r in revocation.reach.reviews] == [
        desk.source.reference,
        first.reference,
        second.reference,
    ]
    (raised,) = events(db_session, AuditAction.ERASURE_REVIEW_RAISE, desk.source)
    assert raised.actor == desk.researcher.email
    assert sorted(raised.detail["records"]) == sorted(ref for _, ref in expected)
    assert revocation.reach.disclosures == ()


def test_withdrawing_a_persons_consent_to_keep_queues_the_person(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    ActFactory(team_id=desk.team.id, person_id=desk.person.id, incident_id=desk.incident.id)
    report = ReportFactory(team_id=desk.team.id, incident_id=desk.incident.id)
    _withdraw(as_researcher, _grant(as_researcher, desk.person, KEEP))
    assert _pending(db_session) == [("person", desk.person.reference)]
    # The reports of their incidents are the sources' accounts: named, not queued.
    assert report.reference not in str(_pending(db_session))
    (shown,) = erasure_reviews.pending_for(as_researcher, desk.person.reference)
    assert shown.reference == desk.person.reference and shown.pending


def test_withdrawing_another_use_queues_nothing(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.person, ADVOCACY))
    assert _pending(db_session) == []


def test_a_record_already_pending_is_not_queued_twice(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.person, KEEP), "2018-01-10")
    again = _grant_on(as_researcher, desk.person, "2018-02-01")
    revocation = _withdraw(as_researcher, again, "2018-03-01")
    assert _pending(db_session) == [("person", desk.person.reference)]
    assert [r.reference for r in revocation.reach.reviews] == [desk.person.reference]
    assert len(events(db_session, AuditAction.ERASURE_REVIEW_RAISE, desk.person)) == 1


def _grant_on(ctx: Context, owner: Person | Source, day: str) -> Consent:
    return consent.grant(ctx, owner, {"use": KEEP.value, "granted_on": day})


# -- who sees the queue ------------------------------------------------------------------


def test_only_the_teams_researchers_see_and_open_the_queue(
    as_researcher: Context,
    context_for: Callable[..., Context],
    desk: Desk,
    db_session: Session,
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.person, KEEP))
    (review,) = erasure_reviews.queue_of(as_researcher).pending
    assert review.reference == desk.person.reference
    stranger = context_for(desk.stranger)
    assert erasure_reviews.queue_of(stranger).pending == ()
    with pytest.raises(NotFound):
        erasure_reviews.for_decision(stranger, review.id)
    with pytest.raises(NotFound):
        erasure_reviews.decide(stranger, review.id, "erase", "", review.lock_version)
    for user in (desk.advocate, desk.auditor):
        other = context_for(user)
        with pytest.raises(PermissionDenied):
            erasure_reviews.queue_of(other)
        with pytest.raises(PermissionDenied):
            erasure_reviews.for_decision(other, review.id)
        assert erasure_reviews.pending_for(other, desk.person.reference) == ()


# -- deciding ----------------------------------------------------------------------------


def test_erasing_leaves_a_tombstone_and_is_audited(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.person, KEEP))
    (review,) = erasure_reviews.queue_of(as_researcher).pending
    decided = erasure_reviews.decide(as_researcher, review.id, "erase", "", review.lock_version)
    assert decided.state is ReviewState.ERASED and decided.erased
    tombstone = db_session.scalars(
        select(Erasure).where(Erasure.reference == desk.person.reference)
    ).one()
    assert tombstone.reason_code == ErasureReason.CONSENT_WITHDRAWN
    assert tombstone.erased_by == desk.researcher.email
    (event,) = events(db_session, AuditAction.ERASURE_REVIEW_DECIDE)
    assert event.target_ref == desk.person.reference
    assert event.detail["decision"] == "erase"
    assert event.detail["reason_code"] == "consent_withdrawn"
    assert events(db_session, AuditAction.RECORD_ERASE, desk.person)
    queue = erasure_reviews.queue_of(as_researcher)
    assert queue.pending == () and [r.reference for r in queue.decided] == [review.reference]


def test_keeping_needs_a_justification_sealed_and_never_in_the_log(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.source, KEEP))
    (review,) = erasure_reviews.queue_of(as_researcher).pending
    with pytest.raises(ValidationError) as refused:
        erasure_reviews.decide(as_researcher, review.id, "keep", "   ", review.lock_version)
    assert "note" in (refused.value.errors or {})
    with pytest.raises(ValidationError) as no_choice:
        erasure_reviews.decide(as_researcher, review.id, None, JUSTIFICATION, review.lock_version)
    assert "decision" in (no_choice.value.errors or {})
    assert events(db_session, AuditAction.ERASURE_REVIEW_DECIDE) == []

    kept = erasure_reviews.decide(
        as_researcher, review.id, "keep", JUSTIFICATION, review.lock_version
    )
    assert kept.state is ReviewState.KEPT and not kept.erased
    assert db_session.scalars(select(Erasure)).all() == []
    row = db_session.get(ErasureReview, review.id)
    assert row is not None and row.decision_note is not None
    assert JUSTIFICATION.encode() not in row.decision_note
    (event,) = events(db_session, AuditAction.ERASURE_REVIEW_DECIDE)
    assert event.detail["decision"] == "keep" and "decision_note" in event.fields
    assert "CANARY" not in str(event.detail)
    opened = erasure_reviews.for_decision(as_researcher, review.id)
    assert opened.note == JUSTIFICATION
    # A decided review is decided once.
    with pytest.raises(ValidationError):
        erasure_reviews.decide(as_researcher, review.id, "erase", "", kept.lock_version)


def test_erasing_a_record_erased_meanwhile_closes_the_review(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _withdraw(as_researcher, _grant(as_researcher, desk.person, KEEP))
    (review,) = erasure_reviews.queue_of(as_researcher).pending
    erase_record(as_researcher, desk.person.reference, ErasureReason.SAFETY)
    assert erasure_reviews.queue_of(as_researcher).pending[0].erased
    decided = erasure_reviews.decide(as_researcher, review.id, "erase", "", review.lock_version)
    assert decided.state is ReviewState.ERASED
    assert len(db_session.scalars(select(Erasure).where(Erasure.reference.is_not(None))).all()) == 1


# -- another use -------------------------------------------------------------------------


def _shared_case(desk: Desk, as_researcher: Context) -> tuple[Incident, Consent]:
    """A case with one report whose source (the desk's) consents to partner sharing."""
    incident = IncidentFactory(team_id=desk.team.id)
    ReportFactory(team_id=desk.team.id, incident_id=incident.id, source_id=desk.source.id)
    return incident, _grant(as_researcher, desk.source, PARTNERS)


def test_withdrawing_names_earlier_summaries_and_later_ones_leave_the_report_out(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    incident, grant = _shared_case(desk, as_researcher)
    before = summaries.summary_of(as_researcher, incident.reference, Profile.PARTNER)
    assert before.shareable and before.reports == 1
    plan = export.start_summary_export(as_researcher, Profile.PARTNER, fmt="csv")
    assert plan.reports == 1
    assert len(db_session.scalars(select(ReportDisclosure)).all()) == 2

    revocation = _withdraw(as_researcher, grant, consent.today().isoformat())
    found = revocation.reach.disclosures
    assert sorted(d.what for d in found) == ["partner summary export (csv)", "partner summary page"]
    (report,) = revocation.reports
    assert all(d.reports == (report.reference,) for d in found)
    assert all(d.disclosed_by == desk.researcher.email for d in found)

    after = summaries.summary_of(as_researcher, incident.reference, Profile.PARTNER)
    assert not after.shareable
    assert export.start_summary_export(as_researcher, Profile.PARTNER).reports == 0


def test_a_summary_under_another_use_is_not_named(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    incident, grant = _shared_case(desk, as_researcher)
    _grant(as_researcher, desk.source, ConsentUse.PUBLISH_WITHOUT_NAME)
    summaries.summary_of(as_researcher, incident.reference, Profile.PUBLIC)
    revocation = _withdraw(as_researcher, grant, consent.today().isoformat())
    assert revocation.reach.disclosures == ()


def test_withdrawing_flags_earlier_links_and_refuses_later_ones(
    as_researcher: Context, context_for: Callable[..., Context], desk: Desk, ctx: Context
) -> None:
    report = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    grant = _grant(as_researcher, desk.source, ADVOCACY)
    action = AdvocacyActionFactory(team_id=desk.team.id, kind=ActionKind.PETITION)
    link = ActionLinkFactory(action_id=action.id, report_id=report.id)
    assert advocacy_work.link_flags(ctx, [link.id]) == {link.id: None}
    revocation = _withdraw(as_researcher, grant, consent.today().isoformat())
    assert [link.action_reference for link in revocation.action_links] == [action.reference]
    assert advocacy_work.link_flags(ctx, [link.id])[link.id] is not None
    later = AdvocacyActionFactory(team_id=desk.team.id, kind=ActionKind.PETITION)
    with pytest.raises(action_links.LinkRefused):
        action_links.link_report(
            context_for(desk.advocate), later.reference, {"report": report.reference}
        )


def test_a_withdrawal_dated_later_keeps_today_s_summaries(
    as_researcher: Context, desk: Desk
) -> None:
    incident, grant = _shared_case(desk, as_researcher)
    tomorrow = consent.today() + dt.timedelta(days=1)
    _withdraw(as_researcher, grant, tomorrow.isoformat())
    assert summaries.summary_of(as_researcher, incident.reference, Profile.PARTNER).shareable


def test_every_summary_output_records_what_it_let_out(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    incident, _grant_given = _shared_case(desk, as_researcher)
    IncidentFactory(team_id=desk.team.id)  # a case with nothing to share: nothing recorded
    summaries.summaries_page(as_researcher, Profile.PARTNER)
    export.export_case_summary(as_researcher, incident.reference, Profile.PARTNER)
    export.start_summary_export(as_researcher, Profile.PUBLIC)  # no report may be published
    rows = db_session.scalars(select(ReportDisclosure)).all()
    assert sorted((r.format, r.profile, r.use) for r in rows) == [
        ("html", "partner", PARTNERS),
        ("json", "partner", PARTNERS),
    ]
    assert {r.team_id for r in rows} == {desk.team.id}
    assert len({r.batch_id for r in rows}) == 2
