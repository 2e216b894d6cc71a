"""Links from advocacy actions to reports, gated by consent: for every kind of action and
every use it needs, a report is linked only while its source and every person with an
act in its incident have that use granted; a consent missing or withdrawn refuses the
link, naming the use and counting who, never naming anyone. A consent withdrawn after a
link was made flags the link on the action and for the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import ActionLink, AdvocacyAction, Consent, Person, Report, Source, Team, User
from incidents.models.vocabularies import ActionKind, ConsentUse, Role
from incidents.services import action_links, advocacy_work, consent
from incidents.services.consent_uses import USE_PHRASES, USES_BY_KIND
from incidents.services.erasure import erase_record
from tests.factories import (
    ActFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import events

GIVEN = dt.date(2017, 4, 2)
PERSON_NAME = "CANARY-person-name-4T1"
REPORT_TITLE = "CANARY-report-title-8W3"


@dataclass
class Case:
    team: Team
    source: Source
    people: list[Person]
    report: Report
    lead: User


def _grant(owner: Person | Source, use: ConsentUse) -> Consent:
    if isinstance(owner, Source):
        return ConsentFactory(team_id=owner.team_id, source_id=owner.id, person_id=None, use=use)
    return ConsentFactory(team_id=owner.team_id, person_id=owner.id, use=use)


def _case(uses: frozenset[ConsentUse] | set[ConsentUse]) -> Case:
    """A report with a source and two people acting in its incident, who all granted
    `uses`; and the team's advocacy lead."""
    team = TeamFactory()
    source = SourceFactory(team_id=team.id)
    incident = IncidentFactory(team_id=team.id)
    people = [
        PersonFactory(team_id=team.id, secrets={"full_name": f"{PERSON_NAME}-{n}"})
        for n in range(2)
    ]
    for person in people:
        ActFactory(team_id=team.id, person_id=person.id, incident_id=incident.id)
    report = ReportFactory(
        team_id=team.id, source_id=source.id, incident_id=incident.id, title=REPORT_TITLE
    )
    for use in uses:
        for owner in (source, *people):
            _grant(owner, use)
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    return Case(team, source, people, report, lead)


def _links(session: Session, action: AdvocacyAction) -> int:
    statement = select(func.count()).select_from(ActionLink)
    return session.scalar(statement.where(ActionLink.action_id == action.id)) or 0


def _withdraw(ctx: Context, owner: Person | Source, use: ConsentUse) -> None:
    column = Consent.source_id if isinstance(owner, Source) else Consent.person_id
    grant = ctx.session.scalars(select(Consent).where(column == owner.id, Consent.use == use)).one()
    consent.revoke(ctx, grant.id, dt.datetime.now(dt.UTC).date(), grant.lock_version)


CASES = [(kind, use) for kind in ActionKind for use in sorted(USES_BY_KIND[kind])]


def test_every_kind_of_action_needs_some_use() -> None:
    assert {kind for kind, _ in CASES} == set(ActionKind)


@pytest.mark.parametrize("who", ["source", "person"])
@pytest.mark.parametrize("state", ["granted", "missing", "revoked"])
@pytest.mark.parametrize(("kind", "use"), CASES, ids=[f"{k.value}-{u.value}" for k, u in CASES])
def test_a_link_needs_every_use_of_its_kind_from_the_source_and_everyone(
    kind: ActionKind,
    use: ConsentUse,
    state: str,
    who: str,
    ctx: Context,
    db_session: Session,
    context_for: Callable[..., Context],
) -> None:
    uses = USES_BY_KIND[kind]
    case = _case(uses if state != "missing" else uses - {use})
    if state == "missing":  # everyone else did grant it
        others = case.people if who == "source" else [case.source, case.people[1]]
        for owner in others:
            _grant(owner, use)
    subject: Person | Source = case.source if who == "source" else case.people[0]
    if state == "revoked":
        _withdraw(ctx, subject, use)
    action = AdvocacyActionFactory(team_id=case.team.id, kind=kind)
    lead = context_for(case.lead)
    raw = {"report": case.report.reference, "note": "What the report supports."}

    if state == "granted":
        link = action_links.link_report(lead, action.reference, raw)
        assert (link.report_id, link.note, link.created_by_id) == (
            case.report.id,
            "What the report supports.",
            case.lead.id,
        )
        assert not advocacy_work.work_of(lead, action).links[0].flagged
        return

    with pytest.raises(action_links.LinkRefused) as refused:
        action_links.link_report(lead, action.reference, raw)
    message = str(refused.value)
    assert refused.value.errors == {"report": message}
    assert message.startswith(f"{case.report.reference} cannot support ")
    assert USE_PHRASES[use] in message
    if who == "source":
        assert "its source has not consented" in message
    else:
        assert "1 of the 2 people in its incident has not consented" in message
    assert PERSON_NAME not in message and REPORT_TITLE not in message
    assert _links(db_session, action) == 0
    (event,) = events(db_session, AuditAction.LINK_REFUSED, target=action)
    assert event.detail == {"report": case.report.reference, "uses": [use.value]}


def test_a_report_without_a_source_is_refused(
    db_session: Session, context_for: Callable[..., Context]
) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    report = ReportFactory(team_id=case.team.id, incident_id=case.report.incident_id)
    action = AdvocacyActionFactory(team_id=case.team.id)
    with pytest.raises(action_links.LinkRefused, match="its source has not consented"):
        action_links.link_report(context_for(case.lead), action, {"report": report.reference})
    assert _links(db_session, action) == 0


def test_an_erased_person_consents_to_nothing(
    ctx: Context, context_for: Callable[..., Context]
) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    erase_record(ctx, case.people[1].reference, "consent_withdrawn")
    action = AdvocacyActionFactory(team_id=case.team.id)
    with pytest.raises(action_links.LinkRefused, match="1 of the 2 people"):
        action_links.link_report(context_for(case.lead), action, {"report": case.report.reference})


def test_purpose_is_named_after_the_kind_of_action(context_for: Callable[..., Context]) -> None:
    case = _case(set())
    action = AdvocacyActionFactory(team_id=case.team.id, kind=ActionKind.UN_SUBMISSION)
    with pytest.raises(action_links.LinkRefused) as refused:
        action_links.link_report(context_for(case.lead), action, {"report": case.report.reference})
    assert str(refused.value) == (
        f"{case.report.reference} cannot support a UN submission: its source and 2 of the 2 "
        "people in its incident have not consented to transfer to UN bodies or courts."
    )


@pytest.mark.parametrize("which", ["other team's", "nonexistent"])
def test_a_report_of_another_team_is_no_report(
    which: str, context_for: Callable[..., Context]
) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    action = AdvocacyActionFactory(team_id=case.team.id)
    reference = ReportFactory().reference if which == "other team's" else "RPT-2017-9999"
    with pytest.raises(ValidationError) as refused:
        action_links.link_report(context_for(case.lead), action, {"report": reference})
    assert refused.value.errors == {
        "report": f"There is no report {reference} in this team; check the reference."
    }


def test_a_report_is_linked_to_an_action_once(context_for: Callable[..., Context]) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    action = AdvocacyActionFactory(team_id=case.team.id)
    lead = context_for(case.lead)
    action_links.link_report(lead, action, {"report": case.report.reference})
    with pytest.raises(ValidationError, match="already linked"):
        action_links.link_report(lead, action, {"report": case.report.reference.lower()})


def test_only_an_advocacy_lead_of_the_team_links(context_for: Callable[..., Context]) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    action = AdvocacyActionFactory(team_id=case.team.id)
    researcher = UserFactory(role=Role.RESEARCHER, teams=[case.team])
    with pytest.raises(PermissionDenied):
        action_links.link_report(context_for(researcher), action, {"report": case.report.reference})
    stranger = UserFactory(role=Role.ADVOCACY_LEAD, teams=[TeamFactory()])
    with pytest.raises(NotFound):
        action_links.link_report(context_for(stranger), action, {"report": case.report.reference})


@pytest.mark.parametrize("who", ["source", "person"])
def test_a_withdrawn_consent_flags_every_link_that_relied_on_it(
    who: str, ctx: Context, db_session: Session, context_for: Callable[..., Context]
) -> None:
    case = _case(USES_BY_KIND[ActionKind.PUBLIC_STATEMENT])
    lead = context_for(case.lead)
    statement = AdvocacyActionFactory(team_id=case.team.id, kind=ActionKind.PUBLIC_STATEMENT)
    petition = AdvocacyActionFactory(team_id=case.team.id, kind=ActionKind.PETITION)
    for action in (statement, petition):
        action_links.link_report(lead, action, {"report": case.report.reference})
    assert advocacy_work.flagged_links(lead) == []

    # Publication is withdrawn: the statement may no longer use the report, the
    # petition (anonymised advocacy only) still may.
    subject = case.source if who == "source" else case.people[0]
    _withdraw(ctx, subject, ConsentUse.PUBLISH_WITHOUT_NAME)

    work = advocacy_work.work_of(lead, statement)
    assert work.flagged == 1
    (link,) = work.links
    assert link.flagged and link.reason is not None
    assert USE_PHRASES[ConsentUse.PUBLISH_WITHOUT_NAME] in link.reason
    assert ("its source" in link.reason) == (who == "source")
    assert PERSON_NAME not in link.reason
    assert advocacy_work.work_of(lead, petition).flagged == 0
    (flagged,) = advocacy_work.flagged_links(lead)
    assert (flagged.action_reference, flagged.action_title, flagged.report_reference) == (
        statement.reference,
        statement.title,
        case.report.reference,
    )
    assert flagged.reason == link.reason
    # Another team's lead sees none of it.
    stranger = UserFactory(role=Role.ADVOCACY_LEAD, teams=[TeamFactory()])
    assert advocacy_work.flagged_links(context_for(stranger)) == []


def test_removing_a_link_is_audited_on_its_action(
    db_session: Session, context_for: Callable[..., Context]
) -> None:
    case = _case(USES_BY_KIND[ActionKind.PETITION])
    action = AdvocacyActionFactory(team_id=case.team.id)
    lead = context_for(case.lead)
    link = action_links.link_report(lead, action, {"report": case.report.reference})
    with pytest.raises(ValidationError, match="changed since"):
        action_links.remove_link(lead, link.id, link.lock_version + 1)
    removed = action_links.remove_link(lead, link.id, link.lock_version)
    assert removed.report_reference == case.report.reference
    assert _links(db_session, action) == 0
    (event,) = events(db_session, AuditAction.LINK_REMOVED, target=action)
    assert event.detail == {"report": case.report.reference, "link": str(link.id)}
