"""An erased record's page shows its tombstone, never its details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import User, UserSession
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.helpers import events
from tests.web.conftest import World


def test_an_erased_incident_page_says_so(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    db_session: Session,
    ctx: Context,
) -> None:
    erase_record(ctx, world.incident.reference, "consent_withdrawn")
    db_session.flush()
    as_role("researcher")
    response = client.get(f"/incidents/{world.incident.reference}")
    assert response.status_code == 410
    body = response.get_data(as_text=True)
    assert "This record was erased" in body
    assert "Consent withdrawn" in body
    assert "CANARY-narrative-7Q2" not in body


def test_an_erased_incident_of_another_team_is_not_found(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    ctx: Context,
) -> None:
    erase_record(ctx, world.other_incident.reference, "other", "asked to")
    as_role("researcher")
    response = client.get(f"/incidents/{world.other_incident.reference}")
    assert response.status_code == 404
    assert "asked to" not in response.get_data(as_text=True)


def _erase_form(client: FlaskClient, reference: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_token(client, f"/records/{reference}/erase"), **fields}


def test_a_researcher_erases_an_incident_from_its_page(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    reference = world.incident.reference
    page = client.get(f"/incidents/{reference}").get_data(as_text=True)
    assert f"/records/{reference}/erase" in page
    response = client.post(
        f"/records/{reference}/erase",
        data=_erase_form(
            client, reference, reason_code="consent_withdrawn", confirm_reference=reference
        ),
    )
    assert response.status_code == 302
    assert client.get(f"/incidents/{reference}").status_code == 410
    erased = [e for e in events(db_session, AuditAction.RECORD_ERASE) if e.target_ref == reference]
    assert len(erased) == 1 and erased[0].actor_id == world.users["researcher"].id


def test_erasing_needs_the_reference_typed_and_a_reason_and_keeps_what_was_typed(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    reference = world.incident.reference
    response = client.post(
        f"/records/{reference}/erase",
        data=_erase_form(
            client,
            reference,
            reason_code="other",
            reason_note="asked by the family",
            confirm_reference="INC-0",
        ),
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f"Type {reference} to confirm." in body
    assert "asked by the family" in body  # nothing typed is lost
    assert client.get(f"/incidents/{reference}").status_code == 200


def test_erasing_asks_for_the_password_again_after_a_while(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    user = as_role("researcher")
    assert user is not None
    stale = datetime.now(UTC) - timedelta(hours=1)
    db_session.execute(
        update(UserSession).where(UserSession.user_id == user.id).values(confirmed_at=stale)
    )
    response = client.get(f"/records/{world.incident.reference}/erase")
    assert response.status_code == 302
    assert "/reauthenticate" in response.headers["Location"]


def test_only_researchers_of_the_team_may_erase(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    assert client.get(f"/records/{world.other_incident.reference}/erase").status_code == 404
    assert client.get("/records/INC-2099-9999/erase").status_code == 404
    assert client.get("/records/nonsense/erase").status_code == 404
