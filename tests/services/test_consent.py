"""Consent per use on SQLite and PostgreSQL: what `consent.allows` says on each day, for
people, sources and reports; recording a grant (team and recorder, one use at a time,
erased owners refused); withdrawing it (dated, once, not before the grant, under the
lock) and what depended on it; the grants as a page reads them, with the conditions
decrypted for researchers only and one audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from incidents.models import (
    ActionLink,
    AdvocacyAction,
    Consent,
    Person,
    Report,
    Source,
    Team,
    User,
)
from incidents.models.vocabularies import ActionKind, ConsentUse, Role
from incidents.records.kinds import CONSENT
from incidents.services import consent, records
from incidents.services.erasure import erase_record
from tests.factories import (
    ActFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import events

KEEP, ADVOCACY = ConsentUse.KEEP, ConsentUse.ANONYMISED_ADVOCACY
APRIL_20 = dt.date(2017, 4, 20)
CONDITIONS = "CANARY-consent-conditions-8V1: not the village's name"


@dataclass
class Desk:
    team: Team
    researcher: User
    advocate: User
    auditor: User
    stranger: User  # a researcher of another team
    person: Person
    source: Source


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team = TeamFactory()
    return Desk(
        team,
        UserFactory(role=Role.RESEARCHER, teams=[team], display_name="Aminat Researcher"),
        UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]),
        UserFactory(role=Role.AUDITOR, teams=[team]),
        UserFactory(role=Role.RESEARCHER, teams=[TeamFactory()]),
        PersonFactory(team_id=team.id),
        SourceFactory(team_id=team.id),
    )


@pytest.fixture
def as_researcher(context_for: Callable[..., Context], desk: Desk) -> Context:
    return context_for(desk.researcher)


def _grant(
    ctx: Context,
    owner: Person | Source | str,
    use: ConsentUse = KEEP,
    on: dt.date | str = APRIL_20,
    notes: str | None = None,
) -> Consent:
    raw: dict[str, object] = {"use": use.value, "granted_on": str(on)}
    if notes is not None:
        raw["notes"] = notes
    return consent.grant(ctx, owner, raw)


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Consent)) or 0


# -- allows ------------------------------------------------------------------------------


def test_a_grant_counts_from_the_day_given_until_the_day_withdrawn(
    as_researcher: Context, desk: Desk
) -> None:
    given = _grant(as_researcher, desk.person, ADVOCACY, APRIL_20)
    day_before, withdrawn = APRIL_20 - dt.timedelta(days=1), dt.date(2018, 1, 10)
    assert not consent.allows(desk.person, ADVOCACY, on=day_before)
    assert consent.allows(desk.person, ADVOCACY, on=APRIL_20)
    assert consent.allows(desk.person, "anonymised_advocacy", on=dt.date(2017, 12, 31))
    assert consent.allows(desk.person, ADVOCACY)  # today, with no withdrawal
    assert not consent.allows(desk.person, KEEP, on=APRIL_20)  # each use on its own
    consent.revoke(as_researcher, given.id, withdrawn, given.lock_version)
    assert consent.allows(desk.person, ADVOCACY, on=withdrawn - dt.timedelta(days=1))
    assert not consent.allows(desk.person, ADVOCACY, on=withdrawn)
    assert not consent.allows(desk.person, ADVOCACY)


def test_a_report_is_allowed_what_its_source_allows(as_researcher: Context, desk: Desk) -> None:
    report = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    without_source = ReportFactory(team_id=desk.team.id)
    other_source = SourceFactory(team_id=desk.team.id)
    _grant(as_researcher, desk.source, ConsentUse.PUBLISH_WITHOUT_NAME)
    _grant(as_researcher, other_source, KEEP)
    assert consent.allows(report, ConsentUse.PUBLISH_WITHOUT_NAME)
    assert consent.allows(desk.source, ConsentUse.PUBLISH_WITHOUT_NAME)
    assert not consent.allows(report, KEEP)  # the other source's grant is not this one's
    assert not consent.allows(report, ConsentUse.PUBLISH_WITH_NAME)
    assert not consent.allows(without_source, ConsentUse.PUBLISH_WITHOUT_NAME)
    # One person's consent is theirs alone.
    _grant(as_researcher, desk.person, ConsentUse.TRANSFER_TO_UN_OR_COURTS)
    assert not consent.allows(PersonFactory(team_id=desk.team.id), "transfer_to_un_or_courts")


def test_an_erased_record_allows_nothing(
    as_researcher: Context, ctx: Context, desk: Desk, db_session: Session
) -> None:
    report = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    _grant(as_researcher, desk.person, KEEP)
    _grant(as_researcher, desk.source, KEEP)
    erase_record(ctx, report.reference, "duplicate")
    assert not consent.allows(report, KEEP)
    assert consent.allows(desk.source, KEEP)
    erase_record(ctx, desk.person.reference, "consent_withdrawn")
    assert not consent.allows(desk.person, KEEP)
    assert _count(db_session) == 2  # the rows stay, as their tombstones' non-secret part


def test_allows_reads_through_the_records_own_session(desk: Desk, db_session: Session) -> None:
    db_session.expunge(desk.person)
    with pytest.raises(ValueError, match="not in a session"):
        consent.allows(desk.person, KEEP)
    with pytest.raises(TypeError):
        consent.allows(IncidentFactory(team_id=desk.team.id), KEEP)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        consent.allows(desk.source, "everything")


# -- granting ----------------------------------------------------------------------------


def test_a_grant_takes_the_owners_team_and_its_recorder(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    grant = _grant(as_researcher, desk.person.reference, ADVOCACY, notes=CONDITIONS)
    assert (grant.person_id, grant.source_id) == (desk.person.id, None)
    assert (grant.team_id, grant.recorded_by_id) == (desk.team.id, desk.researcher.id)
    assert (grant.use, grant.granted_on, grant.revoked_on) == (ADVOCACY, APRIL_20, None)
    assert CONDITIONS.encode() not in (grant.notes or b"")  # sealed
    assert as_researcher.vault.unseal(grant, "notes") == {"notes": CONDITIONS}
    (created,) = events(db_session, AuditAction.RECORD_CREATE, target=grant)
    assert created.actor == desk.researcher.email
    assert sorted(created.fields) == ["granted_on", "notes", "person", "use"]
    assert "CANARY" not in str(created.detail) + str(created.fields)
    from_source = _grant(as_researcher, desk.source)
    assert (from_source.source_id, from_source.person_id) == (desk.source.id, None)


def test_a_use_already_granted_and_in_force_is_refused(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    first = _grant(as_researcher, desk.source, KEEP, APRIL_20)
    with pytest.raises(ValidationError) as error:
        _grant(as_researcher, desk.source, KEEP, dt.date(2019, 1, 1))
    assert set(error.value.errors) == {"use"}
    assert "already consents to keep in database (given on 2017-04-20)" in error.value.errors["use"]
    _grant(as_researcher, desk.person, KEEP)  # another owner: no clash
    _grant(as_researcher, desk.source, ADVOCACY)  # another use: no clash
    consent.revoke(as_researcher, first.id, "2018-06-01", first.lock_version)
    with pytest.raises(ValidationError) as early:  # would start before the first one ends
        _grant(as_researcher, desk.source, KEEP, "2018-05-31")
    assert "runs until 2018-06-01" in early.value.errors["use"]
    again = _grant(as_researcher, desk.source, KEEP, "2018-06-01")
    assert again.granted_on == dt.date(2018, 6, 1)
    assert _count(db_session) == 4


def test_what_is_typed_is_checked_before_anything_is_written(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    for raw, fields in [
        ({}, {"use", "granted_on"}),
        ({"use": "everything", "granted_on": "2017-04-20"}, {"use"}),
        ({"use": "keep_in_database", "granted_on": "20.04.2017"}, {"granted_on"}),
        ({"use": "keep_in_database", "granted_on": "2017-04-20", "notes": "x" * 5001}, {"notes"}),
        # The owner comes from the page, and withdrawing is a step of its own.
        (
            {"use": "keep_in_database", "granted_on": "2017-04-20", "revoked_on": "2018-01-01"},
            {"revoked_on"},
        ),
        ({"use": "keep_in_database", "granted_on": "2017-04-20", "person": "PER-9999"}, {"person"}),
    ]:
        with pytest.raises(ValidationError) as error:
            consent.grant(as_researcher, desk.person, raw)
        assert set(error.value.errors) == fields, raw
    assert _count(db_session) == 0


def test_only_researchers_of_the_owners_team_may_grant(
    context_for: Callable[..., Context], desk: Desk, ctx: Context, db_session: Session
) -> None:
    for user in (desk.advocate, desk.auditor):
        with pytest.raises(PermissionDenied):
            _grant(context_for(user), desk.person)
    with pytest.raises(NotFound):
        _grant(context_for(desk.stranger), desk.person.reference)
    with pytest.raises(NotFound):
        _grant(context_for(desk.stranger), desk.source)
    with pytest.raises(NotFound):  # only people and sources give consent
        _grant(context_for(desk.researcher), IncidentFactory(team_id=desk.team.id).reference)
    erase_record(ctx, desk.person.reference, "consent_withdrawn")
    with pytest.raises(ValidationError, match="was erased"):
        _grant(context_for(desk.researcher), desk.person)
    with pytest.raises(NotFound):
        consent.owner_for_granting(context_for(desk.researcher), "person", desk.person.reference)
    assert _count(db_session) == 0


# -- withdrawing -------------------------------------------------------------------------


def _action_linked_to(ctx: Context, team: Team, report: Report, title: str) -> AdvocacyAction:
    action = records.insert(
        ctx, AdvocacyAction(team_id=team.id, kind=ActionKind.PETITION, title=title)
    )
    records.insert(ctx, ActionLink(action_id=action.id, report_id=report.id))
    return action


def test_withdrawing_a_sources_consent_names_its_reports_and_their_advocacy(
    as_researcher: Context, ctx: Context, desk: Desk, db_session: Session
) -> None:
    first = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    second = ReportFactory(team_id=desk.team.id, source_id=desk.source.id)
    ReportFactory(team_id=desk.team.id, source_id=SourceFactory(team_id=desk.team.id).id)
    petition = _action_linked_to(ctx, desk.team, first, "Petition to the embassy")
    grant = _grant(as_researcher, desk.source, ADVOCACY)
    outcome = consent.revoke(as_researcher, grant.id, "2018-01-10", grant.lock_version)
    assert grant.revoked_on == dt.date(2018, 1, 10)
    assert [r.reference for r in outcome.reports] == sorted([first.reference, second.reference])
    assert [
        (a.action_reference, a.action_title, a.report_reference) for a in outcome.action_links
    ] == [(petition.reference, "Petition to the embassy", first.reference)]
    assert outcome.target.owner_kind == "source"
    assert outcome.target.owner_reference == desk.source.reference
    assert outcome.target.consent.recorded_by == "Aminat Researcher"
    assert outcome.target.consent.withdrawn and not outcome.target.consent.in_force
    (updated,) = events(db_session, AuditAction.RECORD_UPDATE, target=grant)
    assert updated.fields == ["revoked_on"]


def test_withdrawing_a_persons_consent_names_the_reports_of_their_incidents(
    as_researcher: Context, ctx: Context, desk: Desk
) -> None:
    theirs, elsewhere = IncidentFactory(team_id=desk.team.id), IncidentFactory(team_id=desk.team.id)
    ActFactory(team_id=desk.team.id, person_id=desk.person.id, incident_id=theirs.id)
    ActFactory(team_id=desk.team.id, incident_id=elsewhere.id)  # someone else's act
    about = ReportFactory(team_id=desk.team.id, incident_id=theirs.id)
    ReportFactory(team_id=desk.team.id, incident_id=elsewhere.id)
    ReportFactory(team_id=desk.team.id)  # linked to no incident
    erased = ReportFactory(team_id=desk.team.id, incident_id=theirs.id)
    erase_record(ctx, erased.reference, "duplicate")
    protest = _action_linked_to(ctx, desk.team, about, "Protest outside the embassy")
    grant = _grant(as_researcher, desk.person, ConsentUse.PUBLISH_WITHOUT_NAME)
    outcome = consent.revoke(as_researcher, grant.id, dt.date(2018, 2, 1), grant.lock_version)
    assert [(r.reference, r.erased) for r in outcome.reports] == sorted(
        [(about.reference, False), (erased.reference, True)]
    )
    assert [a.action_reference for a in outcome.action_links] == [protest.reference]
    assert outcome.target.owner_kind == "person"


def test_a_consent_with_nothing_depending_on_it_says_so(as_researcher: Context, desk: Desk) -> None:
    grant = _grant(as_researcher, desk.person)
    outcome = consent.revoke(as_researcher, str(grant.id), "2018-01-01", grant.lock_version)
    assert (outcome.reports, outcome.action_links) == ((), ())


def test_a_withdrawal_is_dated_once_and_not_before_the_grant(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    grant = _grant(as_researcher, desk.source, KEEP, APRIL_20)
    for typed, message in [
        ("", "Enter the day the consent was withdrawn."),
        (None, "Enter the day the consent was withdrawn."),
        ("10/01/2018", "Use a date like 2017-04-20."),
        (
            "2017-04-19",
            "The consent was given on 2017-04-20; it cannot be withdrawn before that day.",
        ),
    ]:
        with pytest.raises(ValidationError) as error:
            consent.revoke(as_researcher, grant.id, typed, grant.lock_version)
        assert error.value.errors == {"revoked_on": message}
    assert grant.revoked_on is None
    consent.revoke(as_researcher, grant.id, APRIL_20, grant.lock_version)  # the same day: fine
    with pytest.raises(ValidationError) as twice:
        consent.revoke(as_researcher, grant.id, "2018-01-01", grant.lock_version)
    assert twice.value.errors == {
        "revoked_on": "This consent was already withdrawn, from 2017-04-20."
    }
    assert grant.revoked_on == APRIL_20
    assert len(events(db_session, AuditAction.RECORD_UPDATE, target=grant)) == 1


def test_a_withdrawal_from_an_old_version_is_a_conflict(as_researcher: Context, desk: Desk) -> None:
    grant = _grant(as_researcher, desk.source)
    seen = grant.lock_version
    records.update(
        as_researcher, CONSENT, grant.id, {"granted_on": "2017-04-21"}, lock_version=seen
    )
    with pytest.raises(EditConflict):
        consent.revoke(as_researcher, grant.id, "2018-01-01", seen)
    assert grant.revoked_on is None


def test_only_researchers_of_the_team_may_withdraw(
    context_for: Callable[..., Context], as_researcher: Context, ctx: Context, desk: Desk
) -> None:
    grant = _grant(as_researcher, desk.person)
    for user in (desk.advocate, desk.auditor):
        with pytest.raises(PermissionDenied):
            consent.revoke(context_for(user), grant.id, "2018-01-01", grant.lock_version)
    with pytest.raises(NotFound):
        consent.revoke(context_for(desk.stranger), grant.id, "2018-01-01", grant.lock_version)
    with pytest.raises(NotFound):
        consent.for_revoking(context_for(desk.stranger), grant.id)
    erase_record(ctx, desk.person.reference, "consent_withdrawn")
    with pytest.raises(ValidationError, match="erased"):
        consent.revoke(as_researcher, grant.id, "2018-01-01", grant.lock_version)
    assert grant.revoked_on is None


# -- reading the grants ------------------------------------------------------------------


def test_researchers_read_the_conditions_with_one_audit_event(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    kept = _grant(as_researcher, desk.person, KEEP, notes=CONDITIONS)
    shared = _grant(
        as_researcher, desk.person, ConsentUse.SHARE_WITH_PARTNERS, notes="Only Memorial"
    )
    withdrawn = _grant(as_researcher, desk.person, ADVOCACY)
    consent.revoke(as_researcher, withdrawn.id, "2018-01-01", withdrawn.lock_version)
    before = len(events(db_session, AuditAction.SECRET_DECRYPT))
    views = consent.consents_of(as_researcher, desk.person)
    assert [v.use for v in views][-1] == ADVOCACY  # grants in force first
    by_use = {v.use: v for v in views}
    assert by_use[KEEP].conditions == CONDITIONS and by_use[KEEP].has_conditions
    assert by_use[ConsentUse.SHARE_WITH_PARTNERS].conditions == "Only Memorial"
    assert by_use[ADVOCACY].conditions is None and not by_use[ADVOCACY].has_conditions
    assert by_use[KEEP].recorded_by == "Aminat Researcher"
    assert by_use[KEEP].label == "keep in database"
    assert by_use[KEEP].in_force and not by_use[ADVOCACY].in_force
    decrypted = events(db_session, AuditAction.SECRET_DECRYPT)[before:]
    assert len(decrypted) == 1
    assert (decrypted[0].target_id, decrypted[0].fields) == (
        str(desk.person.id),
        ["consents.notes"],
    )
    assert sorted(decrypted[0].detail["consents"]) == sorted([str(kept.id), str(shared.id)])
    consent.consents_of(as_researcher, desk.person, conditions=False)
    assert len(events(db_session, AuditAction.SECRET_DECRYPT)) == before + 1


def test_grants_without_conditions_decrypt_nothing(
    as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _grant(as_researcher, desk.source)
    before = len(events(db_session, AuditAction.SECRET_DECRYPT))
    assert len(consent.consents_of(as_researcher, desk.source)) == 1
    assert len(events(db_session, AuditAction.SECRET_DECRYPT)) == before


def test_auditors_see_the_grants_without_conditions_and_others_nothing(
    context_for: Callable[..., Context], as_researcher: Context, desk: Desk, db_session: Session
) -> None:
    _grant(as_researcher, desk.source, KEEP, notes=CONDITIONS)
    before = len(events(db_session, AuditAction.SECRET_DECRYPT))
    (seen,) = consent.consents_of(context_for(desk.auditor), desk.source)
    assert (seen.use, seen.conditions, seen.has_conditions) == (KEEP, None, True)
    audited = consent.section(context_for(desk.auditor), desk.source.reference)
    assert audited is not None and not audited.may_change and not audited.conditions_shown
    assert len(events(db_session, AuditAction.SECRET_DECRYPT)) == before
    with pytest.raises(PermissionDenied):
        consent.consents_of(context_for(desk.advocate), desk.source)
    assert consent.section(context_for(desk.advocate), desk.source) is None
    with pytest.raises(NotFound):
        consent.consents_of(context_for(desk.stranger), desk.source)
    with pytest.raises(NotFound):
        consent.section(context_for(desk.stranger), desk.source.reference)


def test_the_section_names_the_uses_without_consent(
    as_researcher: Context, ctx: Context, desk: Desk
) -> None:
    _grant(as_researcher, desk.person, KEEP)
    ended = _grant(as_researcher, desk.person, ADVOCACY)
    consent.revoke(as_researcher, ended.id, "2018-01-01", ended.lock_version)
    section = consent.section(as_researcher, desk.person.reference)
    assert section is not None
    assert (section.owner_kind, section.owner_reference) == ("person", desk.person.reference)
    assert section.may_change and section.conditions_shown
    assert KEEP not in section.uses_without_consent
    assert ADVOCACY in section.uses_without_consent
    assert len(section.uses_without_consent) == len(ConsentUse) - 1
    erase_record(ctx, desk.person.reference, "consent_withdrawn")
    after = consent.section(as_researcher, desk.person)
    assert after is not None and not after.may_change
    assert all(v.erased and not v.in_force for v in after.consents)
    assert after.uses_without_consent == tuple(ConsentUse)
