"""The KeyProvider protocol is all the application needs from a key store: a test double
standing in for a KMS serves sealing, unsealing and rotation without a key file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.crypto.keys import KeyProvider, MasterKey, generate_master_key
from incidents.errors import MasterKeyError
from incidents.models import DataKey, Incident
from incidents.services import keys
from incidents.vault import FieldVault
from tests.factories import TeamFactory


class FakeKms:
    """A test double: keys held "remotely", every release of key material counted."""

    def __init__(self, *keys_held: MasterKey) -> None:
        self.held = {key.key_id: key for key in keys_held}
        self.primary_id = keys_held[0].key_id
        self.releases = 0

    def primary(self) -> MasterKey:
        self.releases += 1
        return self.held[self.primary_id]

    def get(self, key_id: str) -> MasterKey:
        if key_id not in self.held:
            raise MasterKeyError(f"the KMS holds no key {key_id!r}")
        self.releases += 1
        return self.held[key_id]

    def key_ids(self) -> list[str]:
        return [self.primary_id, *sorted(k for k in self.held if k != self.primary_id)]


def test_a_kms_provider_serves_the_vault_and_rotation(db_session: Session, ctx: Context) -> None:
    old = generate_master_key()
    kms = FakeKms(old)
    provider: KeyProvider = kms  # type-checks against the protocol
    record = Incident(team_id=TeamFactory().id, reference="INC-2099-0042", title="KMS")
    vault = FieldVault(db_session, provider)
    vault.seal(record, narrative="sealed with a key from the KMS")
    db_session.add(record)
    db_session.flush()
    assert kms.releases == 1  # one data key wrapped; the field needs no master key

    new = generate_master_key()
    kms.held[new.key_id] = new
    kms.primary_id = new.key_id
    assert keys.rewrap_all(ctx.with_keys(provider)) >= 1
    row = db_session.scalars(select(DataKey).where(DataKey.record_id == record.id)).one()
    assert row.master_key_id == new.key_id

    del kms.held[old.key_id]  # retired in the KMS
    assert FieldVault(db_session, provider).unseal(record, "narrative") == {
        "narrative": "sealed with a key from the KMS"
    }
