"""Sealing and unsealing the secret columns of one record with its own data key.

The vault does no access check and writes no audit event: callers (services) check
access first and record the decryption. It never commits.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from incidents.crypto import envelope
from incidents.crypto.keys import KeyProvider
from incidents.db import FieldClass, field_class_of
from incidents.errors import DecryptionError
from incidents.models.keys import DataKey
from incidents.repositories.data_keys import data_key_for


class SealedRecord(Protocol):
    __tablename__: str
    id: Any
    team_id: Any


def secret_field_names(record_type: type[Any]) -> list[str]:
    """Names of the secret columns of a mapped class, in table order."""
    return [
        column.key
        for column in record_type.__table__.columns
        if field_class_of(column) is FieldClass.SECRET
    ]


def _describe(record: SealedRecord) -> str:
    reference = getattr(record, "reference", None)
    return f"{record.__tablename__} {reference or record.id}"


class FieldVault:
    """Encrypts and decrypts secret fields; caches unwrapped data keys for its lifetime."""

    def __init__(self, session: Session, provider: KeyProvider) -> None:
        self._session = session
        self._provider = provider
        self._ciphers: dict[tuple[str, uuid.UUID], AESGCM] = {}

    def _cipher(self, record: SealedRecord, *, create: bool) -> AESGCM | None:
        table = record.__tablename__
        if record.team_id is None:
            raise ValueError(f"{table} record has no team; a secret needs one")
        if record.id is None:
            record.id = uuid.uuid4()
        cache_key = (table, record.id)
        cached = self._ciphers.get(cache_key)
        if cached is not None:
            return cached
        row = data_key_for(self._session, table, record.id)
        if row is None:
            if not create:
                return None
            master = self._provider.primary()
            material = envelope.new_data_key()
            self._session.add(
                DataKey(
                    record_table=table,
                    record_id=record.id,
                    team_id=record.team_id,
                    master_key_id=master.key_id,
                    wrapped_key=envelope.wrap_data_key(
                        master, material, table, record.id, record.team_id
                    ),
                )
            )
        else:
            master = self._provider.get(row.master_key_id)
            material = envelope.unwrap_data_key(
                master, row.wrapped_key, table, record.id, record.team_id
            )
        cipher = AESGCM(material)
        self._ciphers[cache_key] = cipher
        return cipher

    def seal(self, record: SealedRecord, **values: str | None) -> None:
        """Encrypt each given secret field of `record` (None clears the field)."""
        allowed = set(secret_field_names(type(record)))
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"{record.__tablename__} has no secret field {', '.join(unknown)}")
        cipher = self._cipher(record, create=True)
        assert cipher is not None
        for name, value in values.items():
            if value is None:
                setattr(record, name, None)
                continue
            aad = envelope.field_aad(record.__tablename__, name, record.id, record.team_id)
            setattr(record, name, envelope.seal_with(cipher, value.encode("utf-8"), aad))

    def unseal(self, record: SealedRecord, *names: str) -> dict[str, str | None]:
        """Decrypt the named secret fields (all of them if none are named)."""
        names = names or tuple(secret_field_names(type(record)))
        stored = {name: getattr(record, name) for name in names}
        if all(value is None for value in stored.values()):
            return dict.fromkeys(names)
        cipher = self._cipher(record, create=False)
        if cipher is None:
            raise DecryptionError(f"{_describe(record)}: its data key is gone (erased?)")
        plain: dict[str, str | None] = {}
        for name, sealed in stored.items():
            if sealed is None:
                plain[name] = None
                continue
            aad = envelope.field_aad(record.__tablename__, name, record.id, record.team_id)
            what = f"{_describe(record)}, field {name}"
            plain[name] = envelope.open_with(cipher, sealed, aad, what).decode("utf-8")
        return plain
