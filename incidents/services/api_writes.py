"""Creating and changing records from the JSON API: through the same services as the
pages, with what each kind's page adds to the generic write (people are looked for
among those already recorded; an action's new kind must suit its linked reports).

A body is a document's input fields (incidents/services/documents.py `writable`), with
the team by its slug; the one validator judges every value, as for a form.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidents.context import Context
from incidents.errors import Erased, ValidationError
from incidents.records.kind import RecordKind
from incidents.records.kinds import ADVOCACY_ACTION, ORGANISATION, PERSON
from incidents.repositories import advocacy as advocacy_queries
from incidents.repositories import records as record_queries
from incidents.services import action_links, editing, people, records
from incidents.services.documents import user_id_by_email, writable


@dataclass(frozen=True)
class Created:
    """A new record, or — for a person — the people already recorded who may be the
    same, by reference, to look at before saying it is someone else."""

    record: Any
    duplicates: list[str] = field(default_factory=list)


def team_by_slug(ctx: Context, slug: str | None) -> uuid.UUID:
    """The id of the reader's team with this slug; a slug of another team is refused
    exactly like one of no team."""
    teams = {membership.team.slug: membership.team.id for membership in ctx.user.memberships}
    if slug and slug in teams:
        return teams[slug]
    if not slug:
        raise ValidationError.on("team", f"Give the team: one of {_listed(teams)}.")
    raise ValidationError.on("team", f"There is no team {slug} of yours; use {_listed(teams)}.")


def _listed(teams: Mapping[str, uuid.UUID]) -> str:
    return ", ".join(sorted(teams)) or "none (ask an administrator to add you to a team)"


def create(
    ctx: Context,
    kind: RecordKind,
    body: Mapping[str, object],
    team: str | None = None,
    *,
    confirmed_different: bool = False,
) -> Created:
    """A new record of `kind` from `body`, in the reader's team `team` (for kinds with a
    team of their own)."""
    team_id = team_by_slug(ctx, team) if kind.team_scoped else None
    records.ensure_may_create(ctx, kind, team_id)  # as a page asks before its form
    raw = writable(kind, body, user_id_by_email(ctx))
    _refuse_a_name_taken(ctx, kind, raw)
    if kind is PERSON:
        assert team_id is not None
        registration = people.register_person(
            ctx, team_id, raw, confirmed_different=confirmed_different
        )
        return Created(registration.person, [d.reference for d in registration.duplicates])
    return Created(records.create(ctx, kind, raw, team_id=team_id))


def update(
    ctx: Context, kind: RecordKind, key: str, body: Mapping[str, object], lock_version: int
) -> records.Updated:
    """Change the fields of `body` in the record `key`, edited from `lock_version`; an
    older version is an EditConflict, an erased record `Erased`."""
    record = records.find(ctx, kind, key, kind.write_permission)
    if record_queries.is_erased(ctx.session, kind.table, record.id):
        raise Erased(getattr(record, "reference", None) or str(record.id))
    editing.editable_record(ctx, kind, key)  # what the edit page asks first
    raw = writable(kind, body, user_id_by_email(ctx))
    _refuse_a_name_taken(ctx, kind, raw, record.id)
    if kind is ADVOCACY_ACTION and "kind" in raw:
        action_links.check_kind_change(record, raw)
    return records.update(ctx, kind, key, raw, lock_version=lock_version)


def _refuse_a_name_taken(
    ctx: Context, kind: RecordKind, raw: Mapping[str, object], record_id: uuid.UUID | None = None
) -> None:
    """Organisations are shared by every team and known by their name, which is unique:
    a second one of the same name is refused, naming the one there is."""
    name = raw.get("name")
    if kind is not ORGANISATION or not isinstance(name, str):
        return
    taken = advocacy_queries.organisation_named(ctx.session, name.strip())
    if taken is not None and taken.id != record_id:
        raise ValidationError.on(
            "name",
            f"There is already an organisation named {taken.name} (id {taken.id}): use it, "
            "or choose another name.",
        )
