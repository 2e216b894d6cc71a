"""Writing one prepared row through the services the pages use: a new record through the
registry's create, or its kind's own service where a page has one (people, consents,
follow-ups, links to reports); a known record through the registry's update, only
where a field differs, and never from a version older than the one stored.

Each function raises the services' own ValidationError (one message per field) for
what cannot be written; the caller runs it in a savepoint of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.permissions import Permission
from incidents.records.kind import RecordKind
from incidents.records.kinds import (
    ACTION_LINK,
    ADVOCACY_ACTION,
    CONSENT,
    FOLLOW_UP,
    PERSON,
    REPORT,
    SOURCE,
)
from incidents.services import action_links, consent, follow_ups, people, records
from incidents.services.import_rows import Prepared

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class Written:
    """What writing a row did: `CREATED`, `UPDATED` (with the fields changed) or
    `UNCHANGED`, and the record's reference or id."""

    outcome: str
    record: str
    fields: tuple[str, ...] = ()


def write(ctx: Context, row: Prepared) -> Written:
    if row.existing is None:
        record = _create(ctx, row)
        return Written(CREATED, _name(record))
    return _update(ctx, row)


def holds_events(row: Prepared) -> bool:
    """Whether writing `row` appends audit events only through the generic create, so
    that they may wait to be appended with the batch's: a new record of a kind without
    a service of its own (people's only tidies the name)."""
    return row.existing is None and row.kind not in (CONSENT, ACTION_LINK, FOLLOW_UP)


def _name(record: Any) -> str:
    return str(getattr(record, "reference", None) or record.id)


# -- new records ---------------------------------------------------------------------------


def _create(ctx: Context, row: Prepared) -> Any:
    kind, raw = row.kind, dict(row.raw)
    if kind is PERSON:
        assert row.team_id is not None  # people have a team of their own
        return people.create_person(
            ctx, row.team_id, raw, record_id=row.record_id, reference=row.reference
        )
    if kind is CONSENT:
        return _grant(ctx, row, raw)
    if kind is ACTION_LINK:
        action = _parent_key(kind, raw)
        try:
            return action_links.link_report(
                ctx, action, raw, audit_refusal=False, record_id=row.record_id
            )
        except NotFound:
            raise _no_such(ADVOCACY_ACTION, "action", action) from None
    if kind is FOLLOW_UP:
        return _new_follow_up(ctx, row, raw)
    return records.create(
        ctx,
        kind,
        raw,
        team_id=row.team_id if kind.team_scoped else None,
        record_id=row.record_id,
        reference=row.reference,
    )


def _grant(ctx: Context, row: Prepared, raw: dict[str, object]) -> Any:
    """A consent through the consent service (its check for a use granted twice), then
    withdrawn from its day if the file says it was."""
    person, source = raw.pop("person", None), raw.pop("source", None)
    revoked_on = raw.pop("revoked_on", None)
    if (person in (None, "")) == (source in (None, "")):
        check = CONSENT.check or (lambda _values: {"person": "Choose the person or the source."})
        raise ValidationError.of(check({"person_id": person or None, "source_id": source or None}))
    owner_kind, field, key = (PERSON, "person", person) if person else (SOURCE, "source", source)
    try:
        owner = records.find(ctx, owner_kind, str(key), Permission.CASE_WRITE)
    except NotFound:
        raise _no_such(owner_kind, field, key) from None
    if owner.team_id != row.team_id:  # a consent is in its giver's team
        raise _no_such(owner_kind, field, key)
    granted = consent.grant(ctx, owner, raw, record_id=row.record_id)
    if revoked_on not in (None, ""):
        consent.revoke(ctx, granted.id, str(revoked_on), granted.lock_version)
    return granted


def _new_follow_up(ctx: Context, row: Prepared, raw: dict[str, object]) -> Any:
    """A follow-up through the follow-up service (its assignee is a colleague who may take
    it), marked done afterwards at the time the file gives."""
    action = _parent_key(FOLLOW_UP, raw)
    done_at = raw.pop("done_at", None)
    try:
        created = follow_ups.create(ctx, action, raw, record_id=row.record_id)
    except NotFound:
        raise _no_such(ADVOCACY_ACTION, "action", action) from None
    if done_at not in (None, ""):
        records.update(
            ctx, FOLLOW_UP, created.id, {"done_at": done_at}, lock_version=created.lock_version
        )
    return created


def _parent_key(kind: RecordKind, raw: dict[str, object]) -> str:
    """The action a part of an action belongs to, taken out of `raw`."""
    action = raw.pop("action", None)
    if action in (None, ""):
        raise ValidationError.on("action", kind.field("action").missing())
    return str(action)


def _no_such(kind: RecordKind, field: str, key: object) -> ValidationError:
    return ValidationError.on(
        field, f"There is no {kind.label} {key} in this team; check the reference."
    )


# -- known records -------------------------------------------------------------------------


def _update(ctx: Context, row: Prepared) -> Written:
    kind, raw = row.kind, dict(row.raw)
    try:
        record = records.find(ctx, kind, row.record_id, kind.write_permission)
    except NotFound:
        # Another team's record does not exist for the reader: the refusal says nothing
        # of where the id is used, only that this row cannot have it.
        raise ValidationError.on(
            "id", "This id cannot be given to a new record: give the row another id, or none."
        ) from None
    name = _name(record)
    _same_place(ctx, row, record, raw)
    stored_version = record.lock_version
    changed = _changes(ctx, kind, record, raw)
    if not changed:
        return Written(UNCHANGED, name)
    if row.lock_version is not None and row.lock_version < stored_version:
        raise ValidationError.on(
            "lock_version",
            f"{name} was changed here (version {stored_version}) after this file was made "
            f"from version {row.lock_version}, and the file would change "
            f"{', '.join(changed)}: nothing was overwritten. Export it again and make the "
            "changes there, or leave lock_version out to replace what is stored.",
        )
    return Written(UPDATED, name, changed)


def _same_place(ctx: Context, row: Prepared, record: Any, raw: dict[str, object]) -> None:
    """An import changes what a record says, not where it is: its team, its reference,
    the action a part of an action belongs to and the report a link names stay."""
    name = _name(record)
    if row.kind.team_scoped and record.team_id != row.team_id:
        raise ValidationError.on(
            "team", f"{name} is in another team here: an import does not move records."
        )
    if row.reference is not None and row.reference.upper() != getattr(record, "reference", None):
        raise ValidationError.on(
            "reference",
            f"The record with this id is {name} here: give its reference, or leave it out.",
        )
    links = ("action", "report") if row.kind is ACTION_LINK else ("action",)
    for link in links if row.kind.team_from else ():
        if link in raw and not _names(ctx, row.kind, link, raw.pop(link), record):
            raise ValidationError.on(
                link,
                f"{name} belongs to another {link} here: remove it and make a new one instead.",
            )


def _names(ctx: Context, kind: RecordKind, link: str, key: object, record: Any) -> bool:
    """Whether `key` names the record that `record`'s `link` names."""
    target_kind = ADVOCACY_ACTION if link == "action" else REPORT
    if key in (None, ""):
        return False
    try:
        target = records.find(ctx, target_kind, str(key))
    except (NotFound, PermissionDenied):
        return False
    return bool(target.id == getattr(record, f"{link}_id"))


def _changes(
    ctx: Context, kind: RecordKind, record: Any, raw: dict[str, object]
) -> tuple[str, ...]:
    """Write what differs; the fields changed. Through the kind's own service where a
    page has one: a new kind of action must suit its linked reports, a follow-up's new
    assignee must be a colleague who may take it, a consent withdrawn is withdrawn."""
    if kind is FOLLOW_UP:
        done = {"done_at": raw.pop("done_at")} if "done_at" in raw else {}
        changed: tuple[str, ...] = ()
        if raw:
            version = record.lock_version
            changed = follow_ups.update(ctx, record.id, raw, lock_version=version).changed
        if done:
            changed += records.update(
                ctx, kind, record.id, done, lock_version=record.lock_version
            ).changed
        return changed
    withdrawn = None
    if kind is CONSENT and record.revoked_on is None and raw.get("revoked_on") not in (None, ""):
        withdrawn = raw.pop("revoked_on")
    if kind is ADVOCACY_ACTION and "kind" in raw:
        action_links.check_kind_change(record, raw)
    changed = records.update(ctx, kind, record.id, raw, lock_version=record.lock_version).changed
    if withdrawn is not None:
        consent.revoke(ctx, record.id, str(withdrawn), record.lock_version)
        changed += ("revoked_on",)
    return changed
