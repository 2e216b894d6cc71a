"""A record as a document: the one shape of a record outside the application.

The API answers with documents, exports write them, imports and the API's writes read
them back. A document holds the record's input fields (incidents/records/kinds.py) as the
one validator takes them — so what is exported can be imported unchanged — and, apart,
what only the application writes (`id`, `reference`, `team`, `lock_version`, times, and
what a kind records of itself, such as an evidence file's hash).

What the reader may not see is left out and named under `withheld`; a secret field the
reader may see but that was not opened (lists never decrypt) is named under `sealed`.
Links to other records are their ids; the person a follow-up is assigned to, and who
recorded a consent or made a link, are users' e-mail addresses, which mean the same in
another installation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from incidents.context import Context
from incidents.db import FieldClass, field_class_of
from incidents.records.action_parts import Colleague
from incidents.records.fields import (
    Choices,
    FuzzyDate,
    InputField,
    Lines,
    Link,
    LinkList,
)
from incidents.records.kind import RecordKind
from incidents.repositories import accounts as account_queries
from incidents.serialise import plain
from incidents.services.editing import fuzzy_date_text

# Keys every document may carry that no one writes through the input fields.
ID = "id"
REFERENCE = "reference"
TEAM = "team"
LOCK_VERSION = "lock_version"
WITHHELD = "withheld"
SEALED = "sealed"
# Links an export emptied because the record they named was erased (export_records.py).
LINKS_TO_ERASED = "links_to_erased"
# What a document says about itself: never a value of the record, never written back.
ANNOTATIONS = (WITHHELD, SEALED, LINKS_TO_ERASED)
BOOKKEEPING = (ID, REFERENCE, TEAM, LOCK_VERSION, "created_at", "updated_at")
# Columns a document never carries: keys, their bookkeeping, the team (as `team`).
_NEVER = frozenset({"id", "team_id", "reference", "lock_version", "data_key_id"})

# Fields kept in rows of their own rather than a column of the record's table: their
# class is that of what they name (violation types and organisations are public).
_RELATED_CLASS = FieldClass.PUBLIC


@dataclass(frozen=True)
class Names:
    """What a batch of documents names instead of ids: team slugs and users' e-mails.

    Loaded once for a page or an export (`load_names`), so that a document costs no
    query of its own."""

    teams: Mapping[uuid.UUID, str] = field(default_factory=dict)
    emails: Mapping[uuid.UUID, str] = field(default_factory=dict)


def load_names(ctx: Context) -> Names:
    """Every team's slug and every user's e-mail: a few hundred rows at most, read once.

    An e-mail is a restricted value: it goes only into documents of readers who may see
    the fields that name users (follow-ups' assignees, who recorded a consent)."""
    return Names(
        teams={team.id: team.slug for team in account_queries.all_teams(ctx.session)},
        emails={user.id: user.email for user in account_queries.all_users(ctx.session)},
    )


def user_id_by_email(ctx: Context) -> Callable[[str], uuid.UUID | None]:
    """A lookup of users by e-mail, for `writable`."""

    def lookup(email: str) -> uuid.UUID | None:
        user = account_queries.user_by_email(ctx.session, email)
        return None if user is None else user.id

    return lookup


def field_class(kind: RecordKind, spec: InputField) -> FieldClass:
    """The class of an input field: that of the first column it writes."""
    column = kind.model.__table__.columns.get(spec.columns()[0])
    if column is None:
        return _RELATED_CLASS
    return field_class_of(column) or FieldClass.SYSTEM


def input_names(kind: RecordKind) -> tuple[str, ...]:
    """The keys of a document that are written through the input fields, in order
    (a fuzzy date's precision right after its date)."""
    names: list[str] = []
    for spec in kind.fields:
        names.append(spec.name)
        if isinstance(spec, FuzzyDate):
            names.append(spec.precision_field)
    return tuple(names)


def recorded_columns(kind: RecordKind) -> tuple[str, ...]:
    """Columns the application records of itself (an evidence file's hash, the user who
    recorded a consent): shown in a document, never written through it. A column naming
    another row (`report_id`) is shown under the name without `_id`."""
    written = {column for spec in kind.fields for column in spec.columns()}
    return tuple(
        name
        for name, column in kind.model.__table__.columns.items()
        if name not in written
        and name not in _NEVER
        and field_class_of(column) is not FieldClass.SYSTEM
    )


def document_key(column: str) -> str:
    return column.removesuffix("_id")


def document(
    kind: RecordKind,
    record: Any,
    classes: Collection[FieldClass],
    names: Names,
    opened: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """`record` as a document for a reader of the field `classes`.

    `opened` holds the decrypted secret columns; a secret field the reader may see but
    that is not in `opened` is named under `sealed` (the caller did not open it).
    """
    doc: dict[str, Any] = {ID: str(record.id)}
    if kind.prefix is not None:
        doc[REFERENCE] = record.reference
    team_id = getattr(record, "team_id", None)
    if team_id is not None:
        doc[TEAM] = names.teams.get(team_id)
    if hasattr(record, LOCK_VERSION):
        doc[LOCK_VERSION] = record.lock_version
    withheld: list[str] = []
    sealed: list[str] = []
    for spec in kind.fields:
        if field_class(kind, spec) not in classes:
            withheld.append(spec.name)
            continue
        if spec.secret and (opened is None or spec.name not in opened):
            sealed.append(spec.name)
            continue
        doc.update(_field_values(spec, record, opened or {}, names))
    for column in recorded_columns(kind):
        column_class = field_class_of(kind.model.__table__.columns[column])
        key = document_key(column)
        if column_class not in classes:
            withheld.append(key)
        elif column_class is FieldClass.SECRET and (opened is None or column not in opened):
            sealed.append(key)
        else:
            value = (opened or {}).get(column) if column_class is FieldClass.SECRET else None
            doc[key] = _recorded_value(column, getattr(record, column), value, names)
    if withheld:
        doc[WITHHELD] = withheld
    if sealed:
        doc[SEALED] = sealed
    return doc


def _field_values(
    spec: InputField, record: Any, opened: Mapping[str, str | None], names: Names
) -> dict[str, Any]:
    if spec.secret:
        text = opened.get(spec.name)
        if isinstance(spec, Lines):
            return {spec.name: text.split("\n") if text else []}
        return {spec.name: text}
    if isinstance(spec, FuzzyDate):
        precision = getattr(record, spec.precision_field)
        when = fuzzy_date_text(getattr(record, spec.name), precision)
        return {spec.name: when or None, spec.precision_field: plain(precision)}
    if isinstance(spec, Link):
        return {spec.name: plain(getattr(record, f"{spec.name}_id"))}
    if isinstance(spec, Colleague):
        user_id = getattr(record, f"{spec.name}_id")
        return {spec.name: None if user_id is None else names.emails.get(user_id)}
    if isinstance(spec, LinkList):
        return {spec.name: sorted(str(item.id) for item in getattr(record, spec.name) or [])}
    if isinstance(spec, Choices):
        # Sorted: the rows behind a list come in no fixed order, and the same record
        # must make the same document (exports compared, imports found unchanged).
        return {spec.name: sorted(plain(item) for item in getattr(record, spec.name) or [])}
    return {spec.name: plain(getattr(record, spec.name))}


def _recorded_value(column: str, value: Any, opened: str | None, names: Names) -> Any:
    if opened is not None:
        return opened
    if column.endswith("_by_id") and isinstance(value, uuid.UUID):
        return names.emails.get(value)
    return plain(value)


def user_columns(kind: RecordKind) -> tuple[str, ...]:
    """The columns of `kind` that hold a user's id (for loading `Names.emails`)."""
    columns = [f"{spec.name}_id" for spec in kind.fields if isinstance(spec, Colleague)]
    columns += [c for c in recorded_columns(kind) if c.endswith("_by_id")]
    return tuple(columns)


# -- back: a document as what the one validator takes ---------------------------------------


def writable(
    kind: RecordKind,
    doc: Mapping[str, Any],
    user_id_of: Callable[[str], uuid.UUID | None],
) -> dict[str, object]:
    """The input fields of `doc` as `records.create`/`update` take them.

    Bookkeeping and recorded keys are dropped (they are the application's to write);
    any other key that is not an input field is kept, so that the validator names it
    ("This field does not exist here.") rather than it being lost in silence. A
    colleague given by e-mail is looked up with `user_id_of`; an unknown address stays
    as typed, for the validator to refuse.
    """
    recorded = {document_key(c) for c in recorded_columns(kind)}
    ignored = set(BOOKKEEPING) | recorded | set(ANNOTATIONS)
    raw: dict[str, object] = {}
    for key, value in doc.items():
        if key in ignored:
            continue
        spec = _spec(kind, key)
        if isinstance(spec, Colleague) and isinstance(value, str) and "@" in value:
            found = user_id_of(value.strip().lower())
            raw[key] = str(found) if found is not None else value
        else:
            raw[key] = value
    return raw


def _spec(kind: RecordKind, name: str) -> InputField | None:
    for spec in kind.fields:
        if spec.name == name:
            return spec
    return None
