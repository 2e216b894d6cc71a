"""Sealing and unsealing the secret columns of one record with its own data key.

The vault sits above the repositories (it finds and adds data keys) and below the
services: it does no access check and writes no audit event, since the services check
access first and record the decryption. It never commits. A page that opens many
records opens them together (`unseal_many`, `unseal_each`): their data keys come in
one query, each record still with its own key and associated data.
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from incidents.crypto import envelope
from incidents.crypto.keys import KeyProvider
from incidents.db import FieldClass, field_class_of
from incidents.errors import DecryptionError
from incidents.models.keys import DataKey
from incidents.repositories.data_keys import StoredKey, data_key_for, data_keys_for_many

_VAULTS = "incidents.vault.vaults"
_UNLOADED = object()


@event.listens_for(Session, "after_soft_rollback")
def _forget_keys_after_rollback(session: Session, _previous: SessionTransaction) -> None:
    """A data key made in a transaction (or savepoint) since rolled back is gone from the
    database: no vault of the session may go on sealing with it. Emptied here, at the
    rollback, the caches need no check on every seal and unseal."""
    for vault in list(session.info.get(_VAULTS, ())):
        vault._keys.clear()


class SealedRecord(Protocol):
    __tablename__: str
    id: Any
    team_id: Any


@functools.cache
def _secret_fields(record_type: Any) -> tuple[str, ...]:
    return tuple(
        column.key
        for column in record_type.__table__.columns
        if field_class_of(column) is FieldClass.SECRET
    )


def secret_field_names(record_type: Any) -> list[str]:
    """Names of the secret columns of a mapped class, in table order."""
    return list(_secret_fields(record_type))


def _describe(record: SealedRecord) -> str:
    reference = getattr(record, "reference", None)
    return f"{record.__tablename__} {reference or record.id}"


@functools.cache
def _secret_field_set(record_type: Any) -> frozenset[str]:
    """The secret columns of a mapped class; none for a place that is no table of its own
    (an account's key, whose values are sealed through `cipher_for`)."""
    if not hasattr(record_type, "__table__"):
        return frozenset()
    return frozenset(_secret_fields(record_type))


def _slot(table: str, record_id: Any) -> tuple[str, Any]:
    """A record's place in the key cache: a UUID's integer hashes in C, the UUID in Python."""
    return (table, getattr(record_id, "int", record_id))


class _RecordKey:
    """A record's unwrapped data key as a ready cipher, with its fields' associated data."""

    __slots__ = ("aads", "cipher", "fields", "record_id", "table", "team_id")

    def __init__(
        self, cipher: AESGCM, table: str, record_id: Any, team_id: Any, fields: frozenset[str]
    ) -> None:
        self.cipher = cipher
        self.table = table
        self.record_id = record_id
        self.team_id = team_id
        self.fields = fields  # the secret columns of the record's table
        self.aads: dict[str, bytes] = {}

    def aad(self, name: str) -> bytes:
        """The associated data of the secret field `name`, made once per record."""
        aad = self.aads.get(name)
        if aad is None:
            if name not in self.fields:
                raise ValueError(f"{self.table} has no secret field {name}")
            aad = self.aads[name] = envelope.field_aad(
                self.table, name, self.record_id, self.team_id
            )
        return aad


class FieldVault:
    """Encrypts and decrypts secret fields; caches unwrapped data keys for its lifetime.

    The cache is keyed by table and record id and checked against the record's team, so
    a record moved to another team is never sealed or opened with stale associated data.
    """

    def __init__(self, session: Session, provider: KeyProvider) -> None:
        self._session = session
        self._provider = provider
        self._keys: dict[tuple[str, Any], _RecordKey] = {}
        session.info.setdefault(_VAULTS, weakref.WeakSet()).add(self)

    def forget(self, record: SealedRecord) -> None:
        """Drop the record's data key from the cache: its key was deleted (erasure), and
        nothing may be sealed or opened with it again through this vault."""
        self._keys.pop(_slot(record.__tablename__, record.id), None)

    def _cached(self, table: str, record_id: Any, team_id: Any) -> _RecordKey | None:
        cached = self._keys.get(_slot(table, record_id))
        return cached if cached is not None and cached.team_id == team_id else None

    def _ready_key(self, record: SealedRecord) -> _RecordKey | None:
        """The record's cached key, found with no query and without the ORM's attribute
        machinery (reading the loaded values in the instance's dict); None sends the
        caller to `_record_key` (not cached, or its id or team not loaded). Every seal and
        unseal passes here: it is the layer's own cost per value."""
        loaded = record.__dict__
        record_id = loaded.get("id")
        if record_id is None:
            return None
        key = self._keys.get((record.__tablename__, getattr(record_id, "int", record_id)))
        if key is None:
            return None
        team_id = loaded.get("team_id")
        if team_id is key.team_id or (team_id is not None and team_id == key.team_id):
            return key
        return None

    def _record_key(
        self,
        record: SealedRecord,
        *,
        create: bool,
        found: Mapping[tuple[str, uuid.UUID], StoredKey] | None = None,
    ) -> _RecordKey | None:
        """The record's key, from the cache, from `found` (keys loaded together: a record
        missing there has none) or from the database; made when missing with `create`."""
        table = record.__tablename__
        record_id, team_id = record.id, record.team_id
        if team_id is None:
            raise ValueError(f"{table} record has no team; a secret needs one")
        if record_id is None:
            record_id = record.id = uuid.uuid4()
        cached = self._cached(table, record_id, team_id)
        if cached is not None:
            return cached
        if found is not None:
            row = found.get((table, record_id))
        else:
            row = data_key_for(self._session, table, record_id)
        if row is None:
            if not create:
                return None
            master = self._provider.primary()
            material = envelope.new_data_key()
            self._session.add(
                DataKey(
                    record_table=table,
                    record_id=record_id,
                    team_id=team_id,
                    master_key_id=master.key_id,
                    wrapped_key=envelope.wrap_data_key(master, material, table, record_id, team_id),
                )
            )
        else:
            master = self._provider.get(row.master_key_id)
            material = envelope.unwrap_data_key(master, row.wrapped_key, table, record_id, team_id)
        key = self._keys[_slot(table, record_id)] = _RecordKey(
            AESGCM(material), table, record_id, team_id, _secret_field_set(type(record))
        )
        return key

    def _existing_key(
        self,
        record: SealedRecord,
        found: Mapping[tuple[str, uuid.UUID], StoredKey] | None = None,
    ) -> _RecordKey:
        """The record's key; a DecryptionError when it has none (an erased record)."""
        key = self._record_key(record, create=False, found=found)
        if key is None:
            raise DecryptionError(f"{_describe(record)}: its data key is gone (erased?)")
        return key

    def cipher_for(self, record: SealedRecord, *, create: bool) -> AESGCM:
        """The record's data key as an AES-GCM cipher, for content sealed outside its columns
        (evidence file chunks). With `create`, a record without a key gets one; without it,
        a missing key (an erased record) is a DecryptionError."""
        if not create:
            return self._existing_key(record).cipher
        key = self._record_key(record, create=True)
        assert key is not None  # created when missing
        return key.cipher

    def seal(self, record: SealedRecord, **values: str | None) -> None:
        """Encrypt each given secret field of `record` (None clears the field)."""
        key = self._ready_key(record)
        if key is None or not values.keys() <= key.fields:
            self._check_fields(record, values)
            key = self._record_key(record, create=True)
        self._seal(record, key, values)

    def seal_new(self, record: SealedRecord, **values: str | None) -> None:
        """`seal` for a record being added, which has no stored data key to look for: a
        batch of new records (an import) makes each one's key without a query. A stored
        key for the same record would be refused by the database, never reused."""
        self._check_fields(record, values)
        self._seal(record, self._record_key(record, create=True, found={}), values)

    def _check_fields(self, record: SealedRecord, values: Mapping[str, str | None]) -> None:
        allowed = _secret_fields(type(record))
        unknown = sorted(name for name in values if name not in allowed)
        if unknown:
            raise ValueError(f"{record.__tablename__} has no secret field {', '.join(unknown)}")

    def _seal(
        self, record: SealedRecord, key: _RecordKey | None, values: Mapping[str, str | None]
    ) -> None:
        assert key is not None  # made when missing
        cipher = key.cipher
        for name, value in values.items():
            if value is None:
                setattr(record, name, None)
                continue
            setattr(record, name, envelope.seal_with(cipher, value.encode(), key.aad(name)))

    def unseal(self, record: SealedRecord, *names: str) -> dict[str, str | None]:
        """Decrypt the named secret fields (all of them if none are named)."""
        return self._open(record, names or _secret_fields(type(record)), None)

    def unseal_many(
        self, wanted: Sequence[tuple[SealedRecord, Sequence[str]]]
    ) -> list[dict[str, str | None]]:
        """`unseal(record, *names)` for each (record, names), in order, with the data keys
        of them all loaded in one query; the first record that cannot be opened raises
        the DecryptionError `unseal` would."""
        opened = []
        for result in self._open_all(wanted):
            if isinstance(result, DecryptionError):
                raise result
            opened.append(result)
        return opened

    def unseal_each(
        self, wanted: Sequence[tuple[SealedRecord, Sequence[str]]]
    ) -> list[dict[str, str | None] | DecryptionError]:
        """As `unseal_many`, but a record that cannot be opened (erased, or its data key
        or a field does not fit) gives its DecryptionError in its place instead of
        stopping the others: for lists that show what they can."""
        return list(self._open_all(wanted))

    def _open_all(
        self, wanted: Sequence[tuple[SealedRecord, Sequence[str]]]
    ) -> Iterator[dict[str, str | None] | DecryptionError]:
        found = self._load_keys(
            record
            for record, names in wanted
            for name in (names or _secret_fields(type(record)))
            if getattr(record, name) is not None
        )
        for record, names in wanted:
            try:
                yield self._open(record, names or _secret_fields(type(record)), found)
            except DecryptionError as exc:
                yield exc

    def _load_keys(self, records: Iterator[SealedRecord]) -> dict[tuple[str, uuid.UUID], StoredKey]:
        """The stored keys of those of `records` whose key is not cached, in one query."""
        missing = {
            (record.__tablename__, record.id)
            for record in records
            if record.id is not None
            and self._cached(record.__tablename__, record.id, record.team_id) is None
        }
        return data_keys_for_many(self._session, missing) if missing else {}

    def _open(
        self,
        record: SealedRecord,
        names: Sequence[str],
        found: Mapping[tuple[str, uuid.UUID], StoredKey] | None,
    ) -> dict[str, str | None]:
        plain: dict[str, str | None] = {}
        key: _RecordKey | None = None
        loaded = record.__dict__  # a loaded column's value, without the attribute machinery
        for name in names:
            sealed = loaded.get(name, _UNLOADED)
            if sealed is _UNLOADED:  # expired or deferred: the ORM loads it
                sealed = getattr(record, name)
            if sealed is None:
                plain[name] = None
                continue
            if key is None:  # unwrapped only when there is something to open
                key = self._ready_key(record) or self._existing_key(record, found)
            try:
                plain[name] = envelope.open_with(key.cipher, sealed, key.aad(name)).decode()
            except DecryptionError as exc:  # name the record only when it is needed
                raise DecryptionError(f"{_describe(record)}, field {name}: {exc}") from None
        return plain
