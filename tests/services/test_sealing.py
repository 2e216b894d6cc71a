"""Secret fields through the vault, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.errors import DecryptionError
from incidents.models import DataKey, Incident
from incidents.vault import FieldVault
from tests.factories import IncidentFactory


def test_secret_round_trips_and_is_stored_as_ciphertext(
    db_session: Session, vault: FieldVault
) -> None:
    incident = IncidentFactory(secrets={"narrative": "Нарратив — confidential", "place_detail": ""})
    db_session.expire_all()
    stored = db_session.get(Incident, incident.id)
    assert stored is not None
    assert b"confidential" not in stored.narrative
    assert vault.unseal(stored, "narrative", "place_detail") == {
        "narrative": "Нарратив — confidential",
        "place_detail": "",
    }


def test_one_wrapped_data_key_per_record(db_session: Session) -> None:
    first, second = IncidentFactory(), IncidentFactory()
    keys = db_session.scalars(
        select(DataKey).where(DataKey.record_id.in_([first.id, second.id]))
    ).all()
    assert len(keys) == 2
    assert keys[0].wrapped_key != keys[1].wrapped_key


def test_ciphertext_copied_to_another_row_fails(db_session: Session, vault: FieldVault) -> None:
    source, target = IncidentFactory(), IncidentFactory()
    target.narrative = source.narrative
    db_session.flush()
    with pytest.raises(DecryptionError, match=target.reference):
        vault.unseal(target, "narrative")
