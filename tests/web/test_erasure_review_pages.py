"""Erasure review pages: withdrawing consent to keep shows the records put to review, the
person's page and the queue list them for the team's researchers only, erasing and
keeping from the decision page (a refused keep shows again what was typed), and the
withdrawal of another use naming the summaries that already used it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import Consent, Erasure, ErasureReview, Person, ReviewState, Source, User
from incidents.models.vocabularies import ConsentUse, Role
from incidents.services import consent
from tests.conftest import csrf_token
from tests.factories import (
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    UserFactory,
)
from tests.helpers import count_events, enter
from tests.web.conftest import World

REFUSED = 422
JUSTIFICATION = "Kept under the preservation order of the court, March 2018"


@pytest.fixture
def person(world: World) -> Person:
    return PersonFactory(team_id=world.team.id)


@pytest.fixture
def researcher_ctx(context_for: Callable[..., Context], world: World) -> Context:
    return context_for(world.users["researcher"])


def _grant(ctx: Context, owner: Person | Source, use: ConsentUse) -> Consent:
    return consent.grant(ctx, owner, {"use": use.value, "granted_on": "2017-04-20"})


def _post(client: FlaskClient, path: str, **data: str) -> tuple[int, str, str | None]:
    response = client.post(path, data={"csrf_token": csrf_token(client, "/incidents"), **data})
    return response.status_code, response.get_data(as_text=True), response.headers.get("Location")


def _withdraw(client: FlaskClient, grant: Consent, day: str = "2018-01-10") -> str:
    status, body, _ = _post(
        client, f"/consents/{grant.id}/revoke", revoked_on=day, lock_version=str(grant.lock_version)
    )
    assert status == 200
    return body


def _review_of(session: Session, reference: str) -> ErasureReview:
    return session.scalars(select(ErasureReview).where(ErasureReview.reference == reference)).one()


def test_withdrawing_consent_to_keep_puts_the_record_to_review(
    client: FlaskClient,
    signed_in: Callable[[str], User],
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    signed_in("researcher")
    body = _withdraw(client, _grant(researcher_ctx, person, ConsentUse.KEEP))
    review = _review_of(db_session, person.reference)
    assert "Waiting for an erasure decision (1)" in body
    assert f'href="/erasure/reviews/{review.id}"' in body
    page = client.get(f"/people/{person.reference}").get_data(as_text=True)
    assert "Waiting for an erasure decision" in page and f"/erasure/reviews/{review.id}" in page
    queue = client.get("/erasure/reviews").get_data(as_text=True)
    assert person.reference in queue and "Waiting for a decision (1)" in queue
    assert 'href="/erasure/reviews"' in queue  # in the navigation


def test_other_teams_and_other_roles_do_not_see_the_review(
    client: FlaskClient,
    signed_in: Callable[[str], User],
    researcher_ctx: Context,
    person: Person,
    world: World,
    db_session: Session,
) -> None:
    consent.revoke(
        researcher_ctx,
        (grant := _grant(researcher_ctx, person, ConsentUse.KEEP)).id,
        "2018-01-10",
        grant.lock_version,
    )
    signed_in("auditor")
    page = client.get(f"/people/{person.reference}")
    assert "erasure decision" not in page.get_data(as_text=True)
    assert client.get("/erasure/reviews").status_code == 403
    stranger = client.application.test_client()
    enter(stranger, db_session, UserFactory(role=Role.RESEARCHER, teams=[world.other_team]))
    queue = stranger.get("/erasure/reviews")
    assert queue.status_code == 200 and person.reference not in queue.get_data(as_text=True)


def test_erasing_from_the_review_leaves_a_tombstone(
    client: FlaskClient,
    signed_in: Callable[[str], User],
    researcher_ctx: Context,
    person: Person,
    db_session: Session,
) -> None:
    user = signed_in("researcher")
    _withdraw(client, _grant(researcher_ctx, person, ConsentUse.KEEP))
    review = _review_of(db_session, person.reference)
    page = client.get(f"/erasure/reviews/{review.id}").get_data(as_text=True)
    assert f"Erase or keep person {person.reference}?" in page
    status, _body, location = _post(
        client, f"/erasure/reviews/{review.id}", decision="erase", lock_version="1"
    )
    assert status == 302 and location == "/erasure/reviews"
    tombstone = db_session.scalars(select(Erasure).where(Erasure.reference == person.reference))
    assert tombstone.one().reason_code.value == "consent_withdrawn"
    db_session.refresh(review)
    assert review.state is ReviewState.ERASED and review.decided_by == user.email
    assert count_events(db_session, AuditAction.ERASURE_REVIEW_DECIDE) == 1
    assert client.get(f"/people/{person.reference}").status_code == 410


def test_keeping_without_a_justification_is_refused_with_what_was_typed(
    client: FlaskClient,
    signed_in: Callable[[str], User],
    researcher_ctx: Context,
    world: World,
    db_session: Session,
) -> None:
    signed_in("researcher")
    source = SourceFactory(team_id=world.team.id)
    _withdraw(client, _grant(researcher_ctx, source, ConsentUse.KEEP))
    review = _review_of(db_session, source.reference)
    url = f"/erasure/reviews/{review.id}"
    status, body, _ = _post(client, url, decision="keep", note="  ", lock_version="1")
    assert status == REFUSED
    assert "Say why the record is kept" in body
    assert 'checked id="decision-1" name="decision" type="radio" value="keep"' in body
    status, body, _ = _post(client, url, decision="", note=JUSTIFICATION, lock_version="1")
    assert status == REFUSED and "Choose: erase the record, or keep it." in body
    assert JUSTIFICATION in body  # what was typed is kept
    status, _body, _ = _post(client, url, decision="keep", note=JUSTIFICATION, lock_version="1")
    assert status == 302
    db_session.refresh(review)
    assert review.state is ReviewState.KEPT
    assert db_session.scalars(select(Erasure)).all() == []
    decided = client.get(url).get_data(as_text=True)
    assert JUSTIFICATION in decided and "Kept, by" in decided


def test_withdrawing_another_use_names_the_summaries_that_used_it(
    client: FlaskClient,
    signed_in: Callable[[str], User],
    researcher_ctx: Context,
    world: World,
) -> None:
    signed_in("researcher")
    source = SourceFactory(team_id=world.team.id)
    incident = IncidentFactory(team_id=world.team.id)
    report = ReportFactory(team_id=world.team.id, incident_id=incident.id, source_id=source.id)
    grant = _grant(researcher_ctx, source, ConsentUse.SHARE_WITH_PARTNERS)
    summary = client.get(f"/incidents/{incident.reference}/summary?profile=partner")
    assert summary.status_code == 200
    body = _withdraw(client, grant, consent.today().isoformat())
    assert "Earlier summaries and exports that used this consent (1)" in body
    assert "Partner summary page" in body and report.reference in body
    assert "cannot be shared" not in summary.get_data(as_text=True)
    after = client.get(f"/incidents/{incident.reference}/summary?profile=partner")
    assert "cannot be shared under the partner profile" in after.get_data(as_text=True)
