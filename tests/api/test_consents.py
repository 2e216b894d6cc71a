"""Consents recorded and withdrawn through the API, on SQLite and PostgreSQL: by the
researchers of the person's or source's team, through the consent service — an
overlapping grant is refused in its words, a withdrawal is made under the lock (If-Match)
and answers with the reports and advocacy links that relied on the consent; another
team's person, source or consent is not found, and other roles are refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import Consent
from incidents.models.vocabularies import ConsentUse
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import (
    ActionLinkFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
)
from tests.helpers import count_events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]
CONDITIONS = "CANARY-api-consent-8R3: not the village name"


def test_a_researcher_records_a_persons_and_a_sources_consent(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    researcher = api_client("researcher")
    person, source = PersonFactory(team_id=world.team.id), SourceFactory(team_id=world.team.id)

    given = researcher.post(
        "/consents",
        {
            "person": person.reference,
            "use": "publication_without_name",
            "granted_on": "2017-04-20",
            "notes": CONDITIONS,
        },
    )
    by_id = researcher.post(
        "/consents",
        {"source": str(source.id), "use": "keep_in_database", "granted_on": "2017-04-21"},
    )

    assert given.status_code == 201, given.get_data(as_text=True)
    document = given.get_json()
    assert given.headers["Location"] == f"/api/v1/consents/{document['id']}"
    assert (document["person"], document["use"]) == (str(person.id), "publication_without_name")
    assert (document["team"], document["recorded_by"]) == (world.team.slug, researcher.user.email)
    assert document["sealed"] == ["notes"]  # what was just sent is not read back
    assert CONDITIONS not in given.get_data(as_text=True)
    stored = db_session.get(Consent, uuid.UUID(document["id"]))
    assert stored is not None and stored.person_id == person.id
    assert by_id.status_code == 201, by_id.get_data(as_text=True)
    assert by_id.get_json()["source"] == str(source.id)
    assert count_events(db_session, AuditAction.RECORD_CREATE, stored) == 1
    # Read back like any record: the conditions opened for a researcher, and audited.
    read = researcher.get(f"/consents/{document['id']}").get_json()
    assert read["notes"] == CONDITIONS


def test_a_grant_is_refused_in_the_services_words(api_client: ApiClient, world: World) -> None:
    researcher = api_client("researcher")
    person = PersonFactory(team_id=world.team.id)
    ConsentFactory(team_id=world.team.id, person_id=person.id, use=ConsentUse.KEEP)
    source = SourceFactory(team_id=world.team.id)

    overlapping = researcher.post(
        "/consents",
        {"person": person.reference, "use": "keep_in_database", "granted_on": "2017-05-01"},
    )
    both = researcher.post(
        "/consents",
        {
            "person": person.reference,
            "source": source.reference,
            "use": "keep_in_database",
            "granted_on": "2017-05-01",
        },
    )
    neither = researcher.post("/consents", {"use": "keep_in_database", "granted_on": "2017-05-01"})
    bad_day = researcher.post(
        "/consents",
        {"source": source.reference, "use": "keep_in_database", "granted_on": "yesterday"},
    )
    unknown = researcher.post(
        "/consents",
        {
            "source": source.reference,
            "use": "keep_in_database",
            "granted_on": "2017-05-01",
            "team": "x",
        },
    )

    assert field_errors(overlapping)["use"].startswith(f"{person.reference} already consents")
    assert "Withdraw that consent before recording a new one." in field_errors(overlapping)["use"]
    owner_message = "Give the person or the source who gave this consent, not both."
    assert field_errors(both) == field_errors(neither) == {"person": owner_message}
    assert set(field_errors(bad_day)) == {"granted_on"}
    assert set(field_errors(unknown)) == {"team"}


def test_a_consent_is_withdrawn_under_its_lock_with_what_relied_on_it(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    researcher = api_client("researcher")
    source = SourceFactory(team_id=world.team.id)
    grant = ConsentFactory(
        team_id=world.team.id,
        person_id=None,
        source_id=source.id,
        use=ConsentUse.ANONYMISED_ADVOCACY,
    )
    report = ReportFactory(team_id=world.team.id, source_id=source.id, title="The hotline call")
    action = AdvocacyActionFactory(team_id=world.team.id, title="The petition")
    ActionLinkFactory(action_id=action.id, report_id=report.id)
    url = f"/consents/{grant.id}/revoke"

    assert problem(researcher.post(url, {"revoked_on": "2017-05-02"}))["status"] == 428
    stale = researcher.post(url, {"revoked_on": "2017-05-02"}, headers={"If-Match": '"5"'})
    assert (stale.status_code, problem(stale)["current_version"]) == (409, 1)
    early = researcher.post(url, {"revoked_on": "2017-01-01"}, headers={"If-Match": '"1"'})
    assert set(field_errors(early)) == {"revoked_on"}

    withdrawn = researcher.post(url, {"revoked_on": "2017-05-02"}, headers={"If-Match": '"1"'})

    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    body = withdrawn.get_json()
    assert withdrawn.headers["ETag"] == '"2"'
    assert (body["consent"]["revoked_on"], body["consent"]["lock_version"]) == ("2017-05-02", 2)
    assert body["reports"] == [
        {"reference": report.reference, "title": "The hotline call", "erased": False}
    ]
    assert body["action_links"] == [
        {"action": action.reference, "action_title": "The petition", "report": report.reference}
    ]
    db_session.expire_all()
    assert str(db_session.get(Consent, grant.id).revoked_on) == "2017-05-02"  # type: ignore[union-attr]
    again = researcher.post(url, {"revoked_on": "2017-05-03"}, headers={"If-Match": '"2"'})
    assert "already withdrawn" in field_errors(again)["revoked_on"]


def test_only_researchers_of_the_team_record_and_withdraw(
    api_client: ApiClient, world: World
) -> None:
    person = PersonFactory(team_id=world.team.id)
    grant = ConsentFactory(team_id=world.team.id, person_id=person.id)
    body = {"person": person.reference, "use": "publication_with_name", "granted_on": "2017-05-01"}

    for role in ("advocacy_lead", "auditor"):
        caller = api_client(role)
        assert caller.post("/consents", body).status_code == 403, role
        revoking = caller.post(
            f"/consents/{grant.id}/revoke", {"revoked_on": "2017-05-02"}, headers={"If-Match": "1"}
        )
        assert revoking.status_code == 403, role
    reader = api_client("researcher", ["cases:read"])
    assert reader.post("/consents", body).status_code == 403


def test_another_teams_people_sources_and_consents_are_not_found(
    api_client: ApiClient, world: World
) -> None:
    researcher = api_client("researcher")
    person = PersonFactory(team_id=world.other_team.id)
    grant = ConsentFactory(team_id=world.other_team.id, person_id=person.id)

    given = researcher.post(
        "/consents",
        {"person": person.reference, "use": "keep_in_database", "granted_on": "2017-05-01"},
    )
    revoked = researcher.post(
        f"/consents/{grant.id}/revoke", {"revoked_on": "2017-05-02"}, headers={"If-Match": "1"}
    )

    assert field_errors(given) == {
        "person": f"There is no person {person.reference} in this team; check the reference."
    }
    assert revoked.status_code == 404
    assert (
        researcher.post(
            "/consents/not-an-id/revoke", {"revoked_on": "2017-05-02"}, headers={"If-Match": "1"}
        ).status_code
        == 404
    )
