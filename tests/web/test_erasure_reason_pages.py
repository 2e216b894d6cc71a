"""Erasure reasons on the pages: the form asks for a code and an optional note; an erased
record's page and the audit log show advocacy leads and auditors the code and the date
only, while the team's researchers also see who erased it and the note."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import User
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.web.conftest import World

NOTE = "Her brother phoned on 3 May: the family fears reprisals"


@pytest.fixture
def erased(world: World, context_for: Callable[..., Context], db_session: Session) -> str:
    researcher = world.users["researcher"]
    reference = world.incident.reference
    erase_record(context_for(researcher), reference, "other", NOTE)
    db_session.flush()
    return reference


def test_the_form_offers_the_codes_and_a_sealed_note(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    page = client.get(f"/records/{world.incident.reference}/erase").get_data(as_text=True)
    assert 'name="reason_code"' in page and "<select" in page
    for code in ("consent_withdrawn", "retention", "duplicate", "entered_in_error", "safety"):
        assert f'value="{code}"' in page
    assert 'name="reason_note"' in page and "Confidential · encrypted" in page


def test_other_without_a_note_is_refused_and_keeps_what_was_chosen(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    reference = world.incident.reference
    response = client.post(
        f"/records/{reference}/erase",
        data={
            "csrf_token": csrf_token(client, f"/records/{reference}/erase"),
            "reason_code": "other",
            "reason_note": "",
            "confirm_reference": reference,
        },
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Say why in the note" in body
    assert '<option selected value="other">' in body
    assert client.get(f"/incidents/{reference}").status_code == 200  # nothing was erased


def test_the_researcher_sees_the_note_and_who_erased(
    client: FlaskClient, world: World, erased: str, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    response = client.get(f"/incidents/{erased}")
    body = response.get_data(as_text=True)
    assert response.status_code == 410
    assert NOTE in body and world.users["researcher"].email in body


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor"])
def test_other_roles_see_the_code_and_date_only(
    role: str,
    client: FlaskClient,
    world: World,
    erased: str,
    as_role: Callable[[str], User | None],
) -> None:
    as_role(role)
    response = client.get(f"/incidents/{erased}")
    body = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Other (see the note)" in body and "<time datetime=" in body
    assert NOTE not in body and "reprisals" not in body
    assert world.users["researcher"].email not in body


def test_the_audit_log_shows_the_auditor_the_code_not_the_eraser(
    client: FlaskClient, world: World, erased: str, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    body = client.get("/audit", query_string={"action": "record.erase"}).get_data(as_text=True)
    assert "record.erase" in body and erased in body
    assert "reason_code" in body and "other" in body
    assert "withheld: the team&#39;s researchers only" in body
    assert world.users["researcher"].email not in body and "reprisals" not in body
