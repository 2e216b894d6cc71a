"""One imported row made ready to write: its team, its stable id, its links mapped to
the ids of the records they name, its values as the one validator takes them.

Ids are stable so that importing a file again creates nothing: a row's `id` that is a
UUID is the record's id; any other text (an id from another tool) becomes a UUID derived
from the kind, the team and that text; a row without one gets a UUID derived from its
content and its team's id, so that the same row gives the same record. Links are mapped
the same way: a reference (INC-2017-0001) or a UUID is kept, other text is taken for
such an id of a record of the same team.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.user import User
from incidents.records.fields import Link, LinkList
from incidents.records.inputs import parse_id
from incidents.records.kind import RecordKind
from incidents.records.kinds import kind_named
from incidents.repositories import accounts as account_queries
from incidents.repositories import records as record_queries
from incidents.services import accounts, record_batch, records
from incidents.services.documents import (
    ANNOTATIONS,
    ID,
    LOCK_VERSION,
    REFERENCE,
    TEAM,
    writable,
)
from incidents.services.import_files import Row

# Fixed for good: the ids derived from other tools' ids and from rows' content depend on it.
NAMESPACE = uuid.UUID("9b0f6a52-3c1e-5d47-a8e2-6f1d0c4b7e93")
MAX_EXTERNAL_ID = 100
_SLUG = re.compile(r"\s*[\w-]*\s*")
_NOT_CONTENT = frozenset({ID, LOCK_VERSION, "created_at", "updated_at", *ANNOTATIONS})


@dataclass(frozen=True)
class Prepared:
    """A row ready to be written: where it goes, under which id, with which values."""

    row: Row
    record_id: uuid.UUID
    team_id: uuid.UUID | None  # the team of a kind with a team of its own
    reference: str | None  # the reference the file gives, to keep
    lock_version: int | None  # the version the file was made from
    raw: dict[str, object]  # the input fields, links mapped
    existing: Any  # the record with this id, if there is one (not yet checked for access)

    @property
    def kind(self) -> RecordKind:
        return self.row.kind


class Teams:
    """The teams rows go into, by slug: for a user, those they are a member of; at the
    command line any team, and those the file lists but that do not exist yet are
    created (`created`)."""

    def __init__(self, ctx: Context, listed: Mapping[str, str], default: str | None) -> None:
        self._ctx = ctx
        self._listed = listed
        self.default = default.strip().lower() if default else None
        self._ids: dict[str, uuid.UUID] = {}
        self.created: list[str] = []
        if isinstance(ctx.principal, User):
            self._ids = {team.slug: team.id for team in ctx.principal.member_teams}

    def id_of(self, slug: str) -> uuid.UUID:
        found = self._ids.get(slug)
        if found is not None:
            return found
        if isinstance(self._ctx.principal, User):
            yours = ", ".join(sorted(self._ids)) or "none"
            raise ValidationError.on(
                "team", f"{slug} is not one of your teams: use one of yours ({yours})."
            )
        team = account_queries.team_by_slug(self._ctx.session, slug)
        if team is None and slug in self._listed:
            batch = record_batch.current(self._ctx.session)
            if batch is not None:  # the rows' events so far come before the team's
                batch.append_events()
            team = accounts.create_team(self._ctx, slug, self._listed[slug])
            self.created.append(team.slug)
        if team is None:
            raise ValidationError.on(
                "team",
                f"There is no team {slug}: create it first (incidents teams create {slug} "
                "--name …), or list it among the file's teams.",
            )
        self._ids[slug] = team.id
        return team.id


def prepare(
    ctx: Context, row: Row, teams: Teams, new: Callable[[RecordKind, uuid.UUID], bool] | None = None
) -> Prepared:
    """`row` ready to write; ValidationError naming the field for what cannot be. `new`
    says of an id whether it is known that no record has it (not looked for then)."""
    kind, doc = row.kind, row.doc
    slug = _slug(kind, doc, teams)
    team_id = teams.id_of(slug) if kind.team_scoped else None
    raw = writable(kind, doc, lambda _email: None)  # e-mails are judged by their services
    _map_links(kind, slug, raw)
    reference = _text(doc.get(REFERENCE)) if kind.prefix is not None else None
    record_id = _record_id(kind, slug, team_id, doc)
    known_new = new is not None and new(kind, record_id)
    existing = None if known_new else record_queries.by_id(ctx.session, kind.model, record_id)
    if existing is None and reference is not None and _text(doc.get(ID)) is None:
        # No id, but the reference of a record of the reader's teams: the row is about
        # that record. Another team's record does not exist for them: the row is new.
        named = _visible(ctx, kind, reference.upper())
        if named is not None:
            existing, record_id = named, named.id
    return Prepared(row, record_id, team_id, reference, _version(doc), raw, existing)


def linked(row: Row, teams: Teams) -> list[tuple[RecordKind, str]]:
    """The records `row` links to, by the keys `prepare` maps its links to (for a batch
    to load them together beforehand); none for a row that `prepare` refuses."""
    kind = row.kind
    try:
        slug = _slug(kind, row.doc, teams)
        raw = writable(kind, row.doc, lambda _email: None)
        _map_links(kind, slug, raw)
    except ValidationError:
        return []
    keys: list[tuple[RecordKind, str]] = []
    for spec in kind.fields:
        value = raw.get(spec.name)
        if isinstance(spec, Link) and isinstance(value, str):
            keys.append((kind_named(spec.kind), value))
        elif isinstance(spec, LinkList) and isinstance(value, list):
            target = kind_named(spec.kind)
            keys += [(target, item) for item in value if isinstance(item, str)]
    return keys


def _visible(ctx: Context, kind: RecordKind, reference: str) -> Any:
    """The record with this reference if the reader may see it (as the pages find it)."""
    try:
        return records.find(ctx, kind, reference)
    except NotFound:
        return None


def _slug(kind: RecordKind, doc: Mapping[str, Any], teams: Teams) -> str:
    """The slug of the row's team ("" for a shared kind, such as organisations)."""
    if not kind.team_scoped and kind.team_from is None:
        return ""
    given = doc.get(TEAM)
    # A short name is letters, digits and hyphens (accounts.create_team): anything else
    # names no team, and is not looked for (PostgreSQL refuses a NUL in a query).
    if (given is not None and not isinstance(given, str)) or not _SLUG.fullmatch(given or ""):
        raise ValidationError.on("team", "Give the team by its short name, such as north-caucasus.")
    slug = (given or "").strip().lower() or teams.default
    if slug is None and kind.team_scoped:
        raise ValidationError.on(
            "team", "Give this row's team (its team column), or choose a team for rows without one."
        )
    return slug or ""


def _shared(kind: RecordKind) -> bool:
    return not kind.team_scoped and kind.team_from is None


def _record_id(
    kind: RecordKind, slug: str, team_id: uuid.UUID | None, doc: Mapping[str, Any]
) -> uuid.UUID:
    given = _text(doc.get(ID))
    if given is None:
        content = {k: v for k, v in doc.items() if k not in _NOT_CONTENT}
        text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        # Derived from the team's id, which no other team's user is shown, not its slug:
        # someone who guesses a row of another team (a person's name) cannot work out its
        # id and ask an import of their own whether that id is taken.
        team = slug if team_id is None else str(team_id)
        return uuid.uuid5(NAMESPACE, f"{kind.name}:{team}:content:{text}")
    if len(given) > MAX_EXTERNAL_ID:
        raise ValidationError.on("id", f"Use an id of at most {MAX_EXTERNAL_ID} characters.")
    return parse_id(given) or external_id(kind, slug, given)


def external_id(kind: RecordKind, slug: str, text: str) -> uuid.UUID:
    """The UUID of the record of `kind` that another tool calls `text`, in the team `slug`."""
    return uuid.uuid5(NAMESPACE, f"{kind.name}:{slug}:{text}")


def _map_links(kind: RecordKind, slug: str, raw: dict[str, object]) -> None:
    for spec in kind.fields:
        value = raw.get(spec.name)
        if isinstance(spec, Link) and value is not None:
            raw[spec.name] = _link_key(kind_named(spec.kind), slug, value, spec.name)
        elif isinstance(spec, LinkList) and isinstance(value, list):
            target = kind_named(spec.kind)
            raw[spec.name] = [_link_key(target, slug, item, spec.name) for item in value]


def _link_key(target: RecordKind, slug: str, value: object, name: str) -> object:
    """A link as the registry finds it: a reference or a UUID as given, another tool's
    id as the UUID it was given here (in the linking row's team; none for shared kinds)."""
    text = _text(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None:
        return value  # nothing, or no text at all: the validator says what to do
    pattern = target.reference_pattern
    if (pattern and re.fullmatch(pattern, text.upper())) or parse_id(text) is not None:
        return text
    if len(text) > MAX_EXTERNAL_ID:
        raise ValidationError.on(
            name,
            f"Give the reference or id of the {target.label}, of at most "
            f"{MAX_EXTERNAL_ID} characters.",
        )
    return str(external_id(target, "" if _shared(target) else slug, text))


def _version(doc: Mapping[str, Any]) -> int | None:
    value = doc.get(LOCK_VERSION)
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < 0 or isinstance(value, bool | float):
        raise ValidationError.on(
            LOCK_VERSION, "Give the version as the whole number the export wrote, or leave it out."
        )
    return number


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None
