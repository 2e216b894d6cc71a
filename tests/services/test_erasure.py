"""Crypto-shredding (security check 7): after erasing a record, its data key and blind-index
rows are gone and no key the installation holds can decrypt its ciphertext."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import KeyProvider
from incidents.errors import DecryptionError, NotFound, PermissionDenied, ValidationError
from incidents.models import (
    Act,
    BlindIndexEntry,
    Consent,
    DataKey,
    Erasure,
    Person,
)
from incidents.models.vocabularies import ActType, ConsentUse, Role
from incidents.services.erasure import (
    AlreadyErased,
    erasable_record,
    erase_record,
    tombstone_for,
)
from incidents.services.records import insert
from incidents.vault import FieldVault, secret_field_names
from tests.factories import IncidentFactory, PersonFactory, TeamFactory, UserFactory
from tests.helpers import events

ContextFor = Callable[..., Context]


def _data_keys(session: Session, record_id: object) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.record_id == record_id)
        )
        or 0
    )


def test_erasing_a_person_leaves_nothing_decryptable(
    db_session: Session, ctx: Context, provider: KeyProvider
) -> None:
    person = PersonFactory(secrets={"full_name": "Zelimkhan Testoev", "contact": "+7 000"})
    act = insert(
        ctx,
        Act(
            team_id=person.team_id,
            person_id=person.id,
            incident_id=IncidentFactory(team_id=person.team_id).id,
            act_type=ActType.DETAINED,
        ),
        {"notes": "what was done to him"},
    )
    consent = insert(
        ctx,
        Consent(
            team_id=person.team_id,
            person_id=person.id,
            use=ConsentUse.KEEP,
            granted_on=dt.date(2017, 4, 1),
        ),
        {"notes": "his conditions"},
    )
    db_session.add(
        BlindIndexEntry(
            index_name="person_name",
            record_table="persons",
            record_id=person.id,
            team_id=person.team_id,
            master_key_id="k",
            value=b"12345678",
        )
    )
    db_session.flush()
    # What a backup taken before the erase would hold: the ciphertexts and the wrapped key.
    ciphertext = person.full_name
    wrapped = db_session.scalars(select(DataKey).where(DataKey.record_id == person.id)).one()
    backup_wrapped_key, backup_key_id = wrapped.wrapped_key, wrapped.master_key_id

    outcome = erase_record(ctx, person.reference, "consent_withdrawn")
    assert outcome.records_shredded == 3  # the person, the act, the consent

    for record in (person, act, consent):
        assert _data_keys(db_session, record.id) == 0
        assert all(getattr(record, name) is None for name in secret_field_names(type(record)))
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(BlindIndexEntry)
            .where(BlindIndexEntry.record_id == person.id)
        )
        == 0
    )
    # The live database holds no key for the ciphertext: it cannot be opened at all.
    person.full_name = ciphertext
    with pytest.raises(DecryptionError, match="gone"):
        FieldVault(db_session, provider).unseal(person, "full_name")
    # A backup still holds the wrapped key; it opens only while its master key is held —
    # which is why retiring that master key closes the window (README, "Erasure").
    material = envelope.unwrap_data_key(
        provider.get(backup_key_id), backup_wrapped_key, "persons", person.id, person.team_id
    )
    assert material  # the window the README describes, demonstrated
    tombstone = db_session.scalars(select(Erasure).where(Erasure.record_id == person.id)).one()
    assert tombstone.reference == person.reference
    assert tombstone.reason_code == "consent_withdrawn"
    assert tombstone.reason_note is None  # no note given: nothing sealed
    [event] = events(db_session, "record.erase", person)
    assert event.detail["records_shredded"] == 3
    assert "Zelimkhan" not in str(event.detail) + str(event.fields)


def test_an_erased_record_stays_erased(ctx: Context, db_session: Session) -> None:
    incident = IncidentFactory()
    first = erase_record(ctx, incident.reference, "duplicate")
    for attempt in (
        lambda: erase_record(ctx, incident.reference, "consent_withdrawn"),
        lambda: erasable_record(ctx, incident.reference),
    ):
        with pytest.raises(AlreadyErased, match=f"{incident.reference} was already erased, on "):
            attempt()
    with pytest.raises(AlreadyErased) as again:
        erasable_record(ctx, incident.reference)
    assert again.value.tombstone.id == first.tombstone.id  # the page shows when and why
    assert isinstance(again.value, ValidationError)  # the command line says it in one line
    assert len(events(db_session, "record.erase", incident)) == 1


@pytest.mark.parametrize(
    ("reference", "code", "note", "error"),
    [
        ("INC-1999-0001", "duplicate", "", NotFound),
        ("../../etc/passwd", "duplicate", "", NotFound),
        ("ACT-2017-0001", "duplicate", "", NotFound),
        ("PER-0001", "the person asked", "", ValidationError),
        ("PER-0001", "other", "   ", ValidationError),
        ("PER-0001", "safety", "x" * 1001, ValidationError),
    ],
)
def test_bad_erase_requests_change_nothing(
    db_session: Session,
    ctx: Context,
    reference: str,
    code: str,
    note: str,
    error: type[Exception],
) -> None:
    before = db_session.scalar(select(func.count()).select_from(DataKey))
    with pytest.raises(error):
        erase_record(ctx, reference, code, note)
    assert db_session.scalar(select(func.count()).select_from(DataKey)) == before


def test_only_a_researcher_of_the_team_may_erase(
    db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    person = PersonFactory(team_id=team.id)
    outsider = UserFactory(role=Role.RESEARCHER, teams=[TeamFactory()])
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    with pytest.raises(NotFound):
        erase_record(context_for(outsider), person.reference, "consent_withdrawn")
    with pytest.raises(PermissionDenied):
        erase_record(context_for(lead), person.reference, "consent_withdrawn")
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team])
    erase_record(context_for(researcher), person.reference, "consent_withdrawn")
    assert tombstone_for(context_for(researcher), person.reference) is not None
    with pytest.raises(NotFound):
        tombstone_for(context_for(outsider), person.reference)
    assert db_session.get(Person, person.id) is not None  # the row stays, unreadable


def test_the_vault_that_opened_a_record_cannot_open_it_after_it_is_erased(
    ctx: Context,
) -> None:
    """The data key is gone from the vault's cache with the database row: a copy of the
    ciphertext (from a backup, say) does not open in the very context that erased it."""
    person = PersonFactory(secrets={"full_name": "Cached Name"})
    assert ctx.vault.unseal(person, "full_name") == {"full_name": "Cached Name"}  # cached
    copied = person.full_name
    erase_record(ctx, person.reference, "consent_withdrawn")
    person.full_name = copied
    with pytest.raises(DecryptionError):
        ctx.vault.unseal(person, "full_name")
