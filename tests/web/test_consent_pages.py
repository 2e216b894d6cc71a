"""Consent pages: the consent section of a person's page, recording a grant for a person
or a source, withdrawing it (and what then depended on it), refused and conflicting
withdrawals with what was typed kept, other teams' records, and bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import ActionLink, AdvocacyAction, Consent, Person, Source, User
from incidents.models.vocabularies import ActionKind, ConsentUse, Role
from incidents.records.kinds import CONSENT
from incidents.services import consent, records
from tests.conftest import csrf_token
from tests.factories import (
    ActFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    UserFactory,
)
from tests.helpers import count_events
from tests.web.conftest import World

REFUSED = 422
CONDITIONS = "CANARY-consent-page-2M6: never the village"


@pytest.fixture
def person(world: World) -> Person:
    return PersonFactory(team_id=world.team.id)


@pytest.fixture
def source(world: World) -> Source:
    return SourceFactory(team_id=world.team.id)


@pytest.fixture
def researcher_ctx(context_for: Callable[..., Context], world: World) -> Context:
    return context_for(world.users["researcher"])


@pytest.fixture
def researcher(as_role: Callable[[str], User | None]) -> User | None:
    return as_role("researcher")


def _grant(ctx: Context, owner: Person | Source, use: ConsentUse, **raw: str) -> Consent:
    return consent.grant(ctx, owner, {"use": use.value, "granted_on": "2017-04-20", **raw})


def _withdrawn_on(session: Session, grant: Consent) -> str | None:
    """The stored withdrawal date (the pages wrote it through their own session)."""
    session.refresh(grant)
    return None if grant.revoked_on is None else grant.revoked_on.isoformat()


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Consent)) or 0


def _post(client: FlaskClient, path: str, **data: str) -> tuple[int, str, str | None]:
    response = client.post(path, data={"csrf_token": csrf_token(client, "/incidents"), **data})
    return response.status_code, response.get_data(as_text=True), response.headers.get("Location")


def _revoke(
    client: FlaskClient, grant: Consent, day: str, version: int | None = None
) -> tuple[int, str]:
    status, body, _ = _post(
        client,
        f"/consents/{grant.id}/revoke",
        revoked_on=day,
        lock_version=str(grant.lock_version if version is None else version),
    )
    return status, body


# -- the section on the person's page ----------------------------------------------------


def test_the_person_page_lists_the_grants_with_their_conditions(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    kept = _grant(researcher_ctx, person, ConsentUse.KEEP, notes=CONDITIONS)
    ended = _grant(researcher_ctx, person, ConsentUse.ANONYMISED_ADVOCACY)
    consent.revoke(researcher_ctx, ended.id, "2018-01-10", ended.lock_version)
    before = count_events(db_session, AuditAction.SECRET_DECRYPT)
    body = client.get(f"/people/{person.reference}").get_data(as_text=True)
    section = body[body.index('id="consent"') :]
    assert "keep in database" in section and "In force" in section
    assert "Withdrawn</span> from" in section and "10 January 2018" in section
    assert CONDITIONS in section
    assert researcher.display_name in section  # the recorder
    assert f'href="/people/{person.reference}/consents/new"' in section
    # A withdrawal form for the grant in force only.
    assert f'action="/consents/{kept.id}/revoke"' in section
    assert f'action="/consents/{ended.id}/revoke"' not in section
    assert 'name="revoked_on"' in section and 'name="lock_version"' in section
    assert "No consent in force for:" in section and "publication with name" in section
    # The person's identifying details and the conditions: one event each.
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == before + 2


def test_a_person_without_consent_says_so(
    client: FlaskClient, researcher: User, person: Person
) -> None:
    body = client.get(f"/people/{person.reference}").get_data(as_text=True)
    assert "No consent recorded yet." in body
    assert body.count('class="tag"') >= len(ConsentUse)


# -- recording a grant -------------------------------------------------------------------


def test_a_researcher_records_a_persons_consent(
    client: FlaskClient, researcher: User, person: Person, db_session: Session
) -> None:
    path = f"/people/{person.reference}/consents/new"
    form = client.get(path).get_data(as_text=True)
    for use in ConsentUse:
        assert f'<option value="{use.value}">' in form
    assert '<option value="">Choose a use…</option>' in form  # no use chosen for them
    assert 'type="date"' in form and 'name="granted_on"' in form and 'name="notes"' in form
    assert 'for="use"' in form and 'for="granted_on"' in form and 'for="notes"' in form
    status, _, location = _post(
        client, path, use="transfer_to_un_or_courts", granted_on="2017-05-02", notes=CONDITIONS
    )
    assert status == 302
    assert location is not None and location.endswith(f"/people/{person.reference}#consent")
    (grant,) = db_session.scalars(select(Consent).where(Consent.person_id == person.id))
    assert grant.use is ConsentUse.TRANSFER_TO_UN_OR_COURTS
    assert grant.recorded_by_id == researcher.id
    page = client.get(f"/people/{person.reference}").get_data(as_text=True)
    assert f"Recorded: {person.reference} consents to transfer to UN bodies or courts" in page


def test_a_refused_grant_keeps_what_was_typed(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    path = f"/people/{person.reference}/consents/new"
    status, body, _ = _post(client, path, use="", granted_on="20.04.2017", notes="Only initials")
    assert status == REFUSED
    assert "Choose a use." in body and "Use a date like 2017-04-20." in body
    assert 'value="20.04.2017"' in body and "Only initials</textarea>" in body
    assert _count(db_session) == 0
    _grant(researcher_ctx, person, ConsentUse.KEEP)
    status, body, _ = _post(client, path, use="keep_in_database", granted_on="2018-01-01")
    assert status == REFUSED
    assert "already consents to keep in database (given on 2017-04-20)" in body
    assert '<option selected value="keep_in_database">' in body
    assert "Already in force:" in body
    status, body, _ = _post(client, path, use="<script>", granted_on="2018-01-01")
    assert status == REFUSED and "Choose a use from the list." in body
    assert _count(db_session) == 1


def test_a_sources_consent_is_recorded_on_its_own_page(
    client: FlaskClient, researcher: User, source: Source, db_session: Session
) -> None:
    path = f"/sources/{source.reference}/consents/new"
    assert client.get(path).status_code == 200
    status, _, location = _post(
        client, path, use="publication_without_name", granted_on="2017-04-20"
    )
    assert status == 302
    assert location is not None and location.endswith(f"/sources/{source.reference}#consent")
    assert consent.allows(source, ConsentUse.PUBLISH_WITHOUT_NAME)
    # A person's page is not a source's, and the other way round.
    assert client.get(f"/people/{source.reference}/consents/new").status_code == 404


# -- withdrawing -------------------------------------------------------------------------


def test_withdrawing_shows_the_reports_and_actions_that_relied_on_it(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    ctx: Context,
    world: World,
    source: Source,
    db_session: Session,
) -> None:
    report = ReportFactory(team_id=world.team.id, source_id=source.id)
    action = records.insert(
        ctx, AdvocacyAction(team_id=world.team.id, kind=ActionKind.PROTEST, title="We Exist")
    )
    records.insert(ctx, ActionLink(action_id=action.id, report_id=report.id))
    grant = _grant(researcher_ctx, source, ConsentUse.ANONYMISED_ADVOCACY)
    status, body = _revoke(client, grant, "2018-01-10")
    assert status == 200
    assert "Consent withdrawn" in body and "10 January 2018" in body
    assert f'href="/reports/{report.reference}"' in body
    assert action.reference in body and "We Exist" in body
    assert _withdrawn_on(db_session, grant) == "2018-01-10"


def test_withdrawing_a_persons_consent_names_their_incidents_reports(
    client: FlaskClient, researcher: User, researcher_ctx: Context, world: World, person: Person
) -> None:
    ActFactory(team_id=world.team.id, person_id=person.id, incident_id=world.incident.id)
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    unrelated = ReportFactory(team_id=world.team.id)
    grant = _grant(researcher_ctx, person, ConsentUse.PUBLISH_WITHOUT_NAME)
    status, body = _revoke(client, grant, "2018-01-10")
    assert status == 200
    assert f'href="/reports/{report.reference}"' in body
    assert unrelated.reference not in body
    assert "No advocacy action uses these reports." in body


def test_a_refused_withdrawal_keeps_the_date_typed(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    grant = _grant(researcher_ctx, person, ConsentUse.KEEP)
    status, body = _revoke(client, grant, "2017-04-19")
    assert status == REFUSED
    assert "it cannot be withdrawn before that day" in body
    assert 'value="2017-04-19"' in body
    assert _withdrawn_on(db_session, grant) is None
    status, body = _revoke(client, grant, "")
    assert status == REFUSED and "Enter the day the consent was withdrawn." in body
    assert _revoke(client, grant, "2018-01-10")[0] == 200
    status, body = _revoke(client, grant, "2018-02-01")  # sent twice
    assert status == REFUSED and "already withdrawn, from 2018-01-10" in body
    assert 'name="revoked_on"' not in body  # nothing more to withdraw


def test_a_withdrawal_from_an_old_version_shows_the_grant_as_it_is_now(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    grant = _grant(researcher_ctx, person, ConsentUse.KEEP)
    seen = grant.lock_version
    records.update(
        researcher_ctx, CONSENT, grant.id, {"granted_on": "2017-04-22"}, lock_version=seen
    )
    status, body = _revoke(client, grant, "2018-03-03", version=seen)
    assert status == 409
    assert "someone changed this consent" in body
    assert 'value="2018-03-03"' in body  # what was typed
    assert "22 April 2017" in body  # the grant as it is now
    assert f'name="lock_version" value="{grant.lock_version}"' in body
    assert _withdrawn_on(db_session, grant) is None
    assert _revoke(client, grant, "2018-03-03")[0] == 200


def test_bad_input_to_a_withdrawal_is_a_refused_form(
    client: FlaskClient,
    researcher: User,
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    grant = _grant(researcher_ctx, person, ConsentUse.KEEP)
    for version in ("abc", "", "1e9", "-"):
        status, _, _ = _post(
            client, f"/consents/{grant.id}/revoke", revoked_on="2018-01-01", lock_version=version
        )
        assert status == REFUSED, version
    assert _withdrawn_on(db_session, grant) is None
    assert (
        client.post(f"/consents/{grant.id}/revoke", data={"revoked_on": "2018-01-01"}).status_code
        == 400
    )
    assert client.post("/consents/not-an-id/revoke").status_code == 404


# -- teams and roles ---------------------------------------------------------------------


def test_another_teams_records_are_not_found(
    client: FlaskClient,
    researcher: User,
    context_for: Callable[..., Context],
    world: World,
    db_session: Session,
) -> None:
    outsider = UserFactory(role=Role.RESEARCHER, teams=[world.other_team])
    theirs = PersonFactory(team_id=world.other_team.id)
    their_source = SourceFactory(team_id=world.other_team.id)
    grant = _grant(context_for(outsider), theirs, ConsentUse.KEEP, notes=CONDITIONS)
    for path in (
        f"/people/{theirs.reference}/consents/new",
        f"/sources/{their_source.reference}/consents/new",
    ):
        assert client.get(path).status_code == 404
        assert _post(client, path, use="keep_in_database", granted_on="2017-04-20")[0] == 404
    status, body = _revoke(client, grant, "2018-01-01")
    assert status == 404 and "CANARY" not in body
    assert _withdrawn_on(db_session, grant) is None and _count(db_session) == 1


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor"])
def test_other_roles_of_the_team_may_not_change_consent(
    role: str,
    client: FlaskClient,
    as_role: Callable[[str], User | None],
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    grant = _grant(researcher_ctx, person, ConsentUse.KEEP, notes=CONDITIONS)
    as_role(role)
    before = count_events(db_session, AuditAction.SECRET_DECRYPT)
    assert client.get(f"/people/{person.reference}/consents/new").status_code == 403
    status, body = _revoke(client, grant, "2018-01-01")
    assert status == 403 and "CANARY" not in body
    assert _withdrawn_on(db_session, grant) is None
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == before
