"""What a page needs to edit a record: the stored values as a form shows them (secret
fields decrypted for the editor, which the audit log records), the records a link may
name, and — when two people edited at once — what differs between the stored version and
what was typed."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import FieldClass, field_class_of
from incidents.errors import NotFound
from incidents.models.vocabularies import DatePrecision, label
from incidents.permissions import Permission, ensure, readable_field_classes, readable_teams
from incidents.records.fields import Choice, Choices, FuzzyDate, InputField, Link, LinkList
from incidents.records.kind import RecordKind
from incidents.records.kinds import kind_named
from incidents.repositories import records as record_queries
from incidents.services import records

LINK_OPTIONS = 200  # the most recent records offered for a link; any other can be typed


@dataclass(frozen=True)
class Editable:
    """A record as its edit form starts: `values` keyed by input field, as text."""

    record: Any
    reference: str
    lock_version: int
    team_id: uuid.UUID | None
    values: dict[str, object]


@dataclass(frozen=True)
class LinkOption:
    reference: str
    description: str  # what the reader may see of it: a title, a kind and grade


@dataclass(frozen=True)
class Difference:
    """One field two editors changed apart: what is stored now beside what was typed."""

    name: str
    label: str
    stored: str
    typed: str


def editable_record(ctx: Context, kind: RecordKind, key: str | uuid.UUID) -> Any:
    """The record `key` if the principal may change it: NotFound for another team's, and
    for an erased one — nothing of it is left to edit."""
    record = records.find(ctx, kind, key, kind.write_permission)
    if record_queries.is_erased(ctx.session, kind.table, record.id):
        raise NotFound(f"{key} was erased")
    return record


def editable_values(
    ctx: Context, kind: RecordKind, key: str | uuid.UUID, names: Collection[str]
) -> Editable:
    """The record `key` with the input fields `names` as an edit form shows them, for one
    who may change it. Secret fields among them are decrypted, with one audit event."""
    record = editable_record(ctx, kind, key)
    team_id = records.team_of(ctx, kind, record)
    specs = [spec for spec in kind.fields if spec.name in names]
    secret_columns = [c for spec in specs if spec.secret for c in spec.columns()]
    opened: dict[str, str | None] = {}
    if secret_columns:
        ensure(ctx.principal, Permission.FIELDS_SECRET, record)
        opened = ctx.vault.unseal(record, *secret_columns)
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.SECRET_DECRYPT,
            record,
            fields=secret_columns,
            detail={"purpose": "edit"},
            team_id=team_id,
        )
    values = {spec.name: _shown(ctx, spec, record, opened) for spec in specs}
    reference = getattr(record, "reference", None) or str(record.id)
    return Editable(record, reference, record.lock_version, team_id, values)


def _shown(ctx: Context, spec: InputField, record: Any, opened: Mapping[str, str | None]) -> object:
    if spec.secret:
        return opened.get(spec.name) or ""
    if isinstance(spec, FuzzyDate):
        return fuzzy_date_text(getattr(record, spec.name), getattr(record, spec.precision_field))
    if isinstance(spec, Link):
        linked_id = getattr(record, f"{spec.name}_id")
        if linked_id is None:
            return ""
        linked = record_queries.by_id(ctx.session, kind_named(spec.kind).model, linked_id)
        return getattr(linked, "reference", None) or str(linked_id)
    if isinstance(spec, Choices | LinkList):
        return [_text(item) for item in getattr(record, spec.name) or []]
    value = getattr(record, spec.name)
    return "" if value is None else _text(value)


def fuzzy_date_text(when: date | None, precision: DatePrecision | None) -> str:
    """A date as much as it is known: 2017, 2017-04 or 2017-04-20."""
    if when is None or precision is DatePrecision.UNKNOWN:
        return ""
    text = when.isoformat()
    if precision is DatePrecision.YEAR:
        return text[:4]
    if precision is DatePrecision.MONTH:
        return text[:7]
    return text


def _text(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "id", value))


def link_options(
    ctx: Context, kind_name: str, team_ids: Iterable[uuid.UUID] | None = None
) -> list[LinkOption]:
    """Records a link to `kind_name` may name: the newest of the user's teams (or of
    `team_ids`), described by what is not secret. No decryption."""
    ensure(ctx.principal, Permission.CASE_READ)
    teams: Collection[uuid.UUID] | None = readable_teams(ctx.principal)
    if team_ids is not None:
        wanted = set(team_ids)
        teams = wanted if teams is None else set(teams) & wanted
    kind = kind_named(kind_name)
    rows = record_queries.newest(ctx.session, kind.model, teams, LINK_OPTIONS)
    visible = readable_field_classes(ctx.principal)
    return [LinkOption(row.reference, _description(row, visible)) for row in rows]


def _description(row: Any, visible: frozenset[FieldClass]) -> str:
    """The record's title, or its kind and reliability — each only if the reader's field
    classes open it (a report's title is restricted: an advocacy lead sees its date)."""

    def shown(name: str) -> Any:
        column = row.__table__.columns.get(name)
        if column is None or field_class_of(column) not in visible:
            return None
        return getattr(row, name)

    title = shown("title")
    if title:
        return str(title)
    parts = [label(shown("kind"))]
    reliability = shown("reliability")
    if reliability is not None:
        parts.append(f"reliability {reliability.value}")
    received_on = shown("received_on")
    if received_on is not None:
        parts.append(f"received {received_on.isoformat()}")
    # An advocacy lead's option is the bare reference: nothing else of a report is theirs.
    return ", ".join(p for p in parts if p)


def differences(
    kind: RecordKind, stored: Mapping[str, object], typed: Mapping[str, object]
) -> list[Difference]:
    """The fields where what is stored now differs from what the second editor typed."""
    found = []
    for spec in kind.fields:
        if spec.name not in typed or spec.name not in stored:
            continue
        now, mine = comparable(spec, stored[spec.name]), comparable(spec, typed[spec.name])
        if now != mine:
            found.append(Difference(spec.name, spec.label, now, mine))
    return found


def comparable(spec: InputField, value: object) -> str:
    """A field's value as text that is equal for equal values however they were sent
    (line endings, the order of several choices)."""
    if isinstance(value, list | tuple):
        items = sorted(str(v) for v in value)
        if isinstance(spec, Choices):
            items = sorted(label(v) for v in items)
        return ", ".join(items)
    text = "" if value is None else str(value).strip().replace("\r\n", "\n")
    return label(text) if isinstance(spec, Choice) else text
