"""Any kind of record, through the registry: find it, create it, change it.

Creating and changing do the same for every kind (incidents/records/kinds.py): the
permission in the record's team, the one validator, links to other records checked to
be of the same team, references, sealing of secret fields, blind-index entries, the
optimistic lock on `lock_version`, and one audit event naming the fields — never their
values. What a kind needs beyond that is a service of its own that calls these.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from incidents.audit.actions import AuditAction
from incidents.audit.log import NewEvent
from incidents.context import Context
from incidents.db import FieldClass, field_class_of, utcnow
from incidents.errors import EditConflict, NotFound, ValidationError
from incidents.models.person import Person
from incidents.models.user import User
from incidents.permissions import Permission, can_in_team, ensure, ensure_in_team
from incidents.records.fields import InputField, Link, RecordLink
from incidents.records.inputs import Parsed, parse, parse_id
from incidents.records.kind import RecordKind
from incidents.records.kinds import kind_named, kind_of
from incidents.repositories import person_merges
from incidents.repositories import records as record_queries
from incidents.services import record_batch, references
from incidents.services.blind_indexing import index_new_record, index_record


@dataclass(frozen=True)
class Updated:
    record: Any
    changed: tuple[str, ...]  # input fields whose value changed; empty when none did


def find(
    ctx: Context,
    kind: RecordKind,
    key: str | uuid.UUID,
    permission: Permission = Permission.CASE_READ,
) -> Any:
    """The record of `kind` with this reference or id, if `ctx.principal` holds
    `permission` in its team; NotFound for another team's record, as for no record."""
    record = _lookup(ctx, kind, key)
    if record is None:
        raise NotFound(f"no {kind.label} {key}")
    _ensure(ctx, kind, record, permission)
    return record


def ensure_may_create(ctx: Context, kind: RecordKind, team_id: uuid.UUID | None = None) -> None:
    """PermissionDenied unless the principal may create records of `kind` (in `team_id`,
    or in some team): checked before a form for a new record is shown."""
    if team_id is not None:
        ensure_in_team(ctx.principal, kind.write_permission, team_id)
    else:
        ensure(ctx.principal, kind.write_permission)


def create(
    ctx: Context,
    kind: RecordKind,
    raw: Mapping[str, object],
    *,
    team_id: uuid.UUID | None = None,
    record_id: uuid.UUID | None = None,
    reference: str | None = None,
) -> Any:
    """A new record of `kind` from what was entered (`raw`), in the team `team_id`.

    For a kind without a team of its own (an action's response) the team is that of the
    record it belongs to; for a shared kind (organisations) there is none. An import
    gives the record the id it has in its file (`record_id`), so that importing the file
    again finds it, and keeps its `reference` when that is free.
    """
    if kind.team_scoped:
        if team_id is None:
            raise ValidationError.on("team", "Choose a team.")
        ensure_in_team(ctx.principal, kind.write_permission, team_id)
    elif kind.team_from is None:
        ensure(ctx.principal, kind.write_permission)
    parsed = parse(kind.fields, raw, check=kind.check)
    if kind.team_from is not None:
        team_id = _parent_team(ctx, kind, parsed)
    columns = _resolve_links(ctx, kind, parsed, team_id)
    if kind.team_scoped:
        columns["team_id"] = team_id
    if kind.creator is not None and isinstance(ctx.principal, User):
        columns[kind.creator] = ctx.principal.id
    if record_id is not None:
        columns["id"] = record_id
    # What was left empty takes the model's default (a status of "reported", say).
    record = kind.model(**{c: v for c, v in columns.items() if v is not None})
    if reference is not None:
        record.reference = references.kept(ctx, kind, reference)
    return insert(ctx, record, parsed.secrets, fields=parsed.given)


def insert(
    ctx: Context,
    record: Any,
    secrets: Mapping[str, str | None] | None = None,
    *,
    fields: tuple[str, ...] | list[str] | None = None,
) -> Any:
    """Add a record built by code (the generic create, the test factories): its reference,
    its sealed `secrets`, its blind-index entries and the audit event naming `fields`
    (by default, every column that holds a value but ids and bookkeeping, and the secrets)."""
    kind = kind_of(type(record))
    team_id = _ensure(ctx, kind, record, kind.write_permission)
    references.assign(ctx, kind, record)
    _add(ctx, kind, record, secrets or {})
    if fields is None:
        fields = [
            name
            for name, column in record.__table__.columns.items()
            if getattr(record, name) is not None
            and not name.endswith("_id")
            and name not in ("id", "reference", "created_at", "updated_at", "lock_version")
            and field_class_of(column) is not FieldClass.SECRET
        ] + [name for name, value in (secrets or {}).items() if value is not None]
    record_batch.audit(
        ctx, NewEvent(AuditAction.RECORD_CREATE, record, list(fields), team_id=team_id)
    )
    return record


def _add(ctx: Context, kind: RecordKind, record: Any, secrets: Mapping[str, str | None]) -> None:
    """Seal, add and index a new record: flushed at once, or in a batch of new records (an
    import) with the batch's others, its data key made without looking for a stored one."""
    batch = record_batch.current(ctx.session)
    if secrets:
        (ctx.vault.seal if batch is None else ctx.vault.seal_new)(record, **secrets)
    ctx.session.add(record)
    indexed = {f.column: secrets.get(f.column) for f in kind.indexed}
    if batch is not None and batch.deferring:
        batch.add(record)
        if indexed:
            index_new_record(ctx, record, indexed)
    else:
        ctx.session.flush()
        if indexed:
            index_record(ctx, record, indexed)


def update(
    ctx: Context,
    kind: RecordKind,
    key: str | uuid.UUID,
    raw: Mapping[str, object],
    *,
    lock_version: int,
) -> Updated:
    """Change the fields given in `raw` of the record `key`, edited from `lock_version`.

    An edit made from an older version than the stored one is an EditConflict carrying
    both versions and what was typed: nothing is saved, nothing is lost. Fields whose
    value is unchanged are not written.
    """
    record = find(ctx, kind, key, kind.write_permission)
    reference = getattr(record, "reference", None) or str(record.id)
    if record_queries.is_erased(ctx.session, kind.table, record.id):
        raise ValidationError(f"{reference} was erased; it cannot be changed.")
    if record.lock_version != lock_version:
        raise EditConflict(reference, lock_version, record.lock_version, dict(raw))
    team_id = team_of(ctx, kind, record)
    # A field emptied that the record cannot be without (a status, a kind) is named.
    parsed = parse(kind.fields, raw, partial=True, refuse_empty=_not_null(kind))
    values = _resolve_links(ctx, kind, parsed, team_id)
    current = {c: getattr(record, c) for f in kind.fields if not f.secret for c in f.columns()}
    if kind.check is not None:
        problems = kind.check({**current, **values, **parsed.secrets})
        if problems:
            raise ValidationError.of(problems)
    opened = _secrets_to_compare(ctx, kind, record, parsed)
    if opened:  # the stored values are decrypted to compare: that is recorded, as always
        record_batch.audit(
            ctx,
            NewEvent(
                AuditAction.SECRET_DECRYPT,
                record,
                sorted(opened),
                detail={"purpose": "edit"},
                team_id=team_id,
            ),
        )
    changed = [
        spec.name
        for spec in kind.fields
        if spec.name in parsed.given and _differs(spec, record, values, parsed.secrets, opened)
    ]
    if not changed:
        return Updated(record, ())
    for spec in kind.fields:
        if spec.name in changed and not spec.secret:
            for column in spec.columns():
                setattr(record, column, values[column])
    new_secrets = {
        column: parsed.secrets[column]
        for spec in kind.fields
        if spec.name in changed and spec.secret
        for column in spec.columns()
    }
    if new_secrets:
        ctx.vault.seal(record, **new_secrets)
    # A change of related rows only (violation types, organisations) would leave the
    # record's own row as it was: its `updated_at` is set all the same, so that the row is
    # written and the lock moves on with it (every kind with such a field has one).
    if "updated_at" in kind.model.__table__.columns:
        record.updated_at = utcnow()
    try:
        ctx.session.flush()
    except StaleDataError:  # another writer got in between the check and the write
        raise EditConflict(reference, lock_version, None, dict(raw)) from None
    if kind.indexed and any(f.column in new_secrets for f in kind.indexed):
        index_record(
            ctx, record, {f.column: {**opened, **new_secrets}.get(f.column) for f in kind.indexed}
        )
    record_batch.audit(ctx, NewEvent(AuditAction.RECORD_UPDATE, record, changed, team_id=team_id))
    return Updated(record, tuple(changed))


def _not_null(kind: RecordKind) -> frozenset[str]:
    return frozenset(name for name, c in kind.model.__table__.columns.items() if not c.nullable)


def team_of(ctx: Context, kind: RecordKind, record: Any) -> uuid.UUID | None:
    """The team a record belongs to: its own, or that of the record it hangs off."""
    if kind.team_scoped:
        team: uuid.UUID = record.team_id
        return team
    if kind.team_from is None:
        return None
    parent_kind = _parent_kind(kind)
    parent_id = getattr(record, f"{kind.team_from}_id")
    parent = record_batch.by_id(ctx.session, parent_kind.model, parent_id)
    return None if parent is None else team_of(ctx, parent_kind, parent)


def _parent_kind(kind: RecordKind) -> RecordKind:
    link = kind.field(kind.team_from or "")
    assert isinstance(link, Link), f"{kind.name}.{kind.team_from} is not a link"
    return kind_named(link.kind)


def _parent_team(ctx: Context, kind: RecordKind, parsed: Parsed) -> uuid.UUID:
    """For a kind without a team: the team of the record it hangs off, in which the
    principal must hold the permission. Another team's record is no record."""
    link = parsed.plain.get(f"{kind.team_from}_id")
    assert isinstance(link, RecordLink)  # the link is required
    parent_kind = _parent_kind(kind)
    parent = _lookup(ctx, parent_kind, link.key)
    team_id = None if parent is None else team_of(ctx, parent_kind, parent)
    if team_id is None or not can_in_team(ctx.principal, Permission.CASE_READ, team_id):
        raise ValidationError.on(kind.team_from or "", _no_such(parent_kind, link.key))
    ensure_in_team(ctx.principal, kind.write_permission, team_id)
    return team_id


def _ensure(
    ctx: Context, kind: RecordKind, record: Any, permission: Permission
) -> uuid.UUID | None:
    """Check `permission` for `record` in its team; return the team (None: a shared kind)."""
    team_id = team_of(ctx, kind, record)
    if team_id is None and (kind.team_scoped or kind.team_from):
        raise NotFound(f"no {kind.label}")
    if team_id is None:
        ensure(ctx.principal, permission)
    else:
        ensure_in_team(ctx.principal, permission, team_id)
    return team_id


def _lookup(ctx: Context, kind: RecordKind, key: str | uuid.UUID) -> Any:
    if isinstance(key, uuid.UUID):
        return record_batch.by_id(ctx.session, kind.model, key)
    if kind.prefix is not None and key.startswith(f"{kind.prefix}-"):
        # Only a key of the shape every reference has is looked for, as the pages' URLs
        # take no other: PostgreSQL refuses some text (a NUL) in a query outright.
        if not re.fullmatch(kind.reference_pattern or "", key):
            return None
        return record_batch.by_reference(ctx.session, kind.model, key)
    record_id = parse_id(key)
    return None if record_id is None else record_batch.by_id(ctx.session, kind.model, record_id)


def _resolve_links(
    ctx: Context, kind: RecordKind, parsed: Parsed, team_id: uuid.UUID | None
) -> dict[str, Any]:
    """Parsed values with each link replaced by what it names: the record's id for a
    link, the records for a list of links. A link to a record of another team is refused
    exactly like a link to no record."""
    values = dict(parsed.plain)
    errors: dict[str, str] = {}
    for spec in kind.fields:
        column = f"{spec.name}_id"
        link = values.get(column) if column in values else values.get(spec.name)
        if isinstance(link, RecordLink):
            target = _linked(ctx, link, team_id, errors, spec.name)
            values[column] = None if target is None else target.id
        elif isinstance(link, list) and link and isinstance(link[0], RecordLink):
            found = [_linked(ctx, item, team_id, errors, spec.name) for item in link]
            values[spec.name] = [t for t in found if t is not None]
    if errors:
        raise ValidationError.of(errors)
    return values


def _linked(
    ctx: Context, link: RecordLink, team_id: uuid.UUID | None, errors: dict[str, str], name: str
) -> Any:
    kind = kind_named(link.kind)
    target = _lookup(ctx, kind, link.key)
    target_team = None if target is None else team_of(ctx, kind, target)
    if target is None or (target_team is not None and target_team != team_id):
        errors[name] = _no_such(kind, link.key)
        return None
    if record_batch.may_be_erased(ctx.session, kind.table, target.id):
        errors[name] = f"{link.key} was erased; link another {kind.label}."
        return None
    kept = _merged_into(ctx, kind, target)
    if kept is not None:  # what is new about them belongs with the record that is kept
        errors[name] = f"{link.key} was merged into {kept}; link {kept}."
        return None
    return target


def _merged_into(ctx: Context, kind: RecordKind, target: Any) -> str | None:
    """The reference of the person a duplicate was merged into (and not undone)."""
    if kind.model is not Person:
        return None
    if not record_batch.may_be_merged(ctx.session):
        return None
    merge = person_merges.active_merge_of(ctx.session, target.id)
    if merge is None:
        return None
    kept = record_queries.by_id(ctx.session, Person, merge.kept_id)
    return str(kept.reference)


def _no_such(kind: RecordKind, key: str) -> str:
    return f"There is no {kind.label} {key} in this team; check the reference."


def _secrets_to_compare(
    ctx: Context, kind: RecordKind, record: Any, parsed: Parsed
) -> dict[str, str | None]:
    """The stored plaintext of the secret fields given (and, when one of them is indexed,
    of every indexed field, which the new entries need)."""
    names = [
        c
        for spec in kind.fields
        if spec.secret and spec.name in parsed.given
        for c in spec.columns()
    ]
    if not names:
        return {}
    # Only those who may read secret fields compare them (every secret is in a team).
    ensure(ctx.principal, Permission.FIELDS_SECRET, record)
    if any(f.column in names for f in kind.indexed):
        names += [f.column for f in kind.indexed if f.column not in names]
    return ctx.vault.unseal(record, *names)


def _differs(
    spec: InputField,
    record: Any,
    values: Mapping[str, Any],
    secrets: Mapping[str, str | None],
    opened: Mapping[str, str | None],
) -> bool:
    if spec.secret:
        return any(secrets.get(c) != opened.get(c) for c in spec.columns())
    for column in spec.columns():
        new, old = values.get(column), getattr(record, column)
        if isinstance(new, list):
            if sorted(map(_identity, new)) != sorted(map(_identity, old or [])):
                return True
        elif new != old:
            return True
    return False


def _identity(item: Any) -> str:
    return str(getattr(item, "id", item))
