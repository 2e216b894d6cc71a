"""The vault's fast path — a cached key found with no query, values read from the record's
loaded state rather than through the ORM's attribute machinery — keeps every check of the
slow one: a record moved to another team, a key made in a transaction since rolled back,
a value expired since it was read, a name that is no secret field."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from incidents.crypto.keys import KeyProvider
from incidents.errors import DecryptionError
from incidents.vault import FieldVault
from tests.factories import IncidentFactory, TeamFactory


def test_a_record_moved_to_another_team_is_neither_sealed_nor_opened_with_its_cached_key(
    db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory(secrets={"narrative": "before"})
    vault = FieldVault(db_session, provider)
    assert vault.unseal(incident, "narrative") == {"narrative": "before"}  # key now cached
    incident.team_id = TeamFactory().id  # its key was wrapped for the old team
    with pytest.raises(DecryptionError, match="data key of incidents"):
        vault.seal(incident, narrative="after")
    with pytest.raises(DecryptionError, match="data key of incidents"):
        vault.unseal(incident, "narrative")


def test_a_key_made_in_a_savepoint_since_rolled_back_is_made_again(
    db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory(secrets={})  # no secret yet, so no data key
    vault = FieldVault(db_session, provider)
    savepoint = db_session.begin_nested()
    vault.seal(incident, narrative="first")  # makes and caches a key...
    db_session.flush()
    savepoint.rollback()  # ... which the rollback takes away
    vault.seal(incident, narrative="second")
    db_session.flush()
    assert FieldVault(db_session, provider).unseal(incident, "narrative") == {"narrative": "second"}


def test_values_expired_since_they_were_read_are_loaded_again(
    db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory(secrets={"narrative": "kept", "place_detail": None})
    vault = FieldVault(db_session, provider)
    assert vault.unseal(incident, "narrative", "place_detail") == {
        "narrative": "kept",
        "place_detail": None,
    }
    db_session.expire(incident)  # nothing loaded now, not even its id and team
    assert vault.unseal(incident, "narrative", "place_detail") == {
        "narrative": "kept",
        "place_detail": None,
    }
    db_session.expire(incident, ["narrative"])
    vault.seal(incident, narrative="changed")
    assert vault.unseal(incident, "narrative") == {"narrative": "changed"}


def test_a_name_that_is_no_secret_field_is_refused_before_anything_is_sealed(
    db_session: Session, provider: KeyProvider
) -> None:
    incident = IncidentFactory(secrets={"narrative": "kept"})
    vault = FieldVault(db_session, provider)
    assert vault.unseal(incident, "narrative") == {"narrative": "kept"}  # key now cached
    with pytest.raises(ValueError, match="no secret field title"):
        vault.seal(incident, narrative="lost", title="a public column")
    with pytest.raises(ValueError, match="no secret field title"):
        vault.unseal(incident, "title")
    assert vault.unseal(incident, "narrative") == {"narrative": "kept"}
