"""Opening many records at once: one query for their data keys, each record still with
its own key and associated data, and a shredded record as unreadable as with `unseal`."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.crypto.keys import KeyProvider
from incidents.errors import DecryptionError
from incidents.models import Act, Incident, Involvement
from incidents.records.kinds import INCIDENT
from incidents.repositories import records as record_queries
from incidents.vault import FieldVault, secret_field_names
from tests.factories import ActFactory, IncidentFactory, InvolvementFactory, TeamFactory
from tests.helpers import count_statements


def _records(session: Session, count: int) -> list[Incident | Act | Involvement]:
    team = TeamFactory()
    incident = IncidentFactory(
        team_id=team.id, secrets={"narrative": "Нарратив", "place_detail": None}
    )
    made: list[Incident | Act | Involvement] = [incident]
    for n in range(count):
        act = ActFactory(team_id=team.id, incident_id=incident.id, secrets={"notes": f"Notes {n}"})
        made += [
            act,
            InvolvementFactory(team_id=team.id, act_id=act.id, secrets={"units": f"Unit {n}"}),
        ]
    session.flush()
    return made


def _wanted(records: list[Incident | Act | Involvement]) -> list[tuple[object, list[str]]]:
    return [(record, secret_field_names(type(record))) for record in records]


def test_many_records_open_as_one_by_one_with_one_query_for_their_keys(
    app: Flask, db_session: Session, provider: KeyProvider
) -> None:
    records = _records(db_session, 12)
    one_by_one = [
        FieldVault(db_session, provider).unseal(r, *names) for r, names in _wanted(records)
    ]
    assert one_by_one[0] == {"narrative": "Нарратив", "place_detail": None}
    assert one_by_one[-1] == {"perpetrator_names": None, "units": "Unit 11"}

    vault = FieldVault(db_session, provider)  # nothing cached
    with count_statements(app) as statements:
        together = vault.unseal_many(_wanted(records))
    assert together == one_by_one
    assert statements.count == 1 and "data_keys" in statements.sql[0], statements
    with count_statements(app) as again:
        assert vault.unseal_many(_wanted(records)) == one_by_one
    assert again.count == 0, "the keys stay cached for the vault's lifetime"


def test_names_left_out_open_every_secret_field_and_nothing_sealed_needs_no_key(
    app: Flask, db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory(secrets={"narrative": None, "place_detail": None})
    vault = FieldVault(db_session, provider)
    with count_statements(app) as statements:
        assert vault.unseal_many([(incident, ())]) == [{"narrative": None, "place_detail": None}]
    assert statements.count == 0, statements


def test_a_shredded_record_stays_closed_and_names_itself(
    db_session: Session, provider: KeyProvider
) -> None:
    records = _records(db_session, 2)
    shredded = records[1]
    record_queries.delete_data_key(db_session, shredded.__tablename__, shredded.id)
    with pytest.raises(DecryptionError) as alone:
        FieldVault(db_session, provider).unseal(shredded)
    assert "data key is gone" in str(alone.value)

    with pytest.raises(DecryptionError) as together:
        FieldVault(db_session, provider).unseal_many(_wanted(records))
    assert str(together.value) == str(alone.value)

    each = FieldVault(db_session, provider).unseal_each(_wanted(records))
    assert isinstance(each[1], DecryptionError) and str(each[1]) == str(alone.value)
    assert each[0] == {"narrative": "Нарратив", "place_detail": None}
    assert each[2] == {"perpetrator_names": None, "units": "Unit 0"}
    assert not any(isinstance(result, DecryptionError) for result in each[3:])


def test_ciphertext_copied_between_records_of_one_batch_fails(
    db_session: Session, provider: KeyProvider
) -> None:
    """Each record is opened with its own key and its own associated data: a batch is no
    way to read one record's field as another's."""
    first, second = IncidentFactory(), IncidentFactory(team_id=TeamFactory().id)
    second.narrative = first.narrative
    db_session.flush()
    vault = FieldVault(db_session, provider)
    each = vault.unseal_each([(first, ["narrative"]), (second, ["narrative"])])
    assert each[0] == {"narrative": "A confidential narrative."}
    assert isinstance(each[1], DecryptionError)
    assert second.reference in str(each[1]) and "field narrative" in str(each[1])
    with pytest.raises(DecryptionError, match=second.reference):
        vault.unseal_many([(first, ["narrative"]), (second, ["narrative"])])


def test_a_record_moved_to_another_team_is_not_opened_with_stale_associated_data(
    db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory()
    vault = FieldVault(db_session, provider)
    assert vault.unseal_many([(incident, ["narrative"])])[0]["narrative"]
    incident.team_id = TeamFactory().id  # the key was wrapped for the old team
    with pytest.raises(DecryptionError, match=INCIDENT.table):
        vault.unseal_many([(incident, ["narrative"])])
