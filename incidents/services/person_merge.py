"""Merging duplicate people: reviewed side by side, merged, and undone if need be.

A merge keeps every record. The duplicate stays as it was — names, contact, blind-index
entries — and a `person_merges` row marks it as merged into the person kept, naming
exactly the acts and consents that moved. Each move is the generic update of that act or
consent (its `person` field, with its own record.update event and lock); the decision
is one person.merge event (person.unmerge when undone), in the caller's transaction.

Nothing of the duplicate is copied into the kept person's record or blind index, so an
undo has nothing to unpick: searches and duplicate suggestions still find the duplicate
by its own names and show it with a pointer to the person it was merged into
(incidents/services/person_matching.py).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import NotFound, ValidationError
from incidents.models.consent import Consent
from incidents.models.organisation import Team
from incidents.models.person import Act, Person
from incidents.models.person_merge import PersonMerge
from incidents.models.vocabularies import AgeBand, ConsentUse, Gender
from incidents.names import normalise_date, split_lines
from incidents.permissions import Permission, ensure
from incidents.records.kinds import ACT, CONSENT, PERSON
from incidents.repositories import people as people_queries
from incidents.repositories import person_merges as merge_queries
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.people import IDENTIFYING, PersonAct
from incidents.services.person_matching import NAME_FIELDS, PersonMatch, possible_duplicates

FIELD = "duplicate"  # the form field that names the other record


@dataclass(frozen=True)
class ConsentLine:
    use: ConsentUse
    granted_on: date
    revoked_on: date | None


@dataclass(frozen=True)
class PersonSide:
    """One of the two people of a merge, decrypted for the researcher reviewing it."""

    reference: str
    team_name: str | None
    gender: Gender
    age_band: AgeBand
    created_at: datetime
    full_name: str | None
    aliases: tuple[str, ...]
    date_of_birth: str | None
    contact: str | None
    acts: tuple[PersonAct, ...]
    consents: tuple[ConsentLine, ...]


@dataclass(frozen=True)
class MergeReview:
    """Both people side by side; what would move is the duplicate's acts and consents.
    `fingerprint` names what was reviewed: the merge refuses if that changed meanwhile."""

    kept: PersonSide
    duplicate: PersonSide
    fingerprint: str


@dataclass(frozen=True)
class MergeNote:
    merge_id: uuid.UUID
    kept_reference: str
    merged_reference: str
    merged_at: datetime
    merged_by: str
    acts: int
    consents: int
    undone_at: datetime | None = None


@dataclass(frozen=True)
class MergeState:
    """What a person's page says about merges: merged into another, or others into it."""

    merged_into: MergeNote | None = None
    merged_here: tuple[MergeNote, ...] = ()


@dataclass(frozen=True)
class MergeStart:
    """The page that starts a merge into `reference`: why it cannot (`refusal`), or the
    people of the team who may be the same person."""

    reference: str
    refusal: str | None = None
    suggestions: tuple[PersonMatch, ...] = ()


def person_to_keep(ctx: Context, reference: str) -> Person:
    """The person `reference`, if the principal may merge into it: NotFound for another
    team's, PermissionDenied for anyone but a researcher of its team."""
    person: Person = records.find(ctx, PERSON, reference, Permission.FIELDS_SECRET)
    ensure(ctx.principal, Permission.CASE_WRITE, person)
    return person


def start(ctx: Context, reference: str, *, suggest: bool = True) -> MergeStart:
    """What the merge page offers: the refusal, or (with `suggest`) possible duplicates,
    found as when a person is recorded — every person decrypted is audited."""
    kept = person_to_keep(ctx, reference)
    refusal = _refusal_to_keep(ctx, kept)
    if refusal is not None or not suggest:
        return MergeStart(kept.reference, refusal)
    plain = ctx.vault.unseal(kept, *NAME_FIELDS)
    _audit_decryption(ctx, kept, list(NAME_FIELDS), "duplicate check")
    born = plain.get("date_of_birth")
    if born is not None and normalise_date(born) is None:  # free text from an older import
        plain["date_of_birth"] = None
    try:
        found = possible_duplicates(ctx, kept.team_id, plain, besides=kept.id)
    except ValidationError:  # a stored value today's rules refuse: no suggestions
        found = []
    return MergeStart(kept.reference, None, tuple(m for m in found if m.merged_into is None))


def review(ctx: Context, kept_reference: str, duplicate_reference: str) -> MergeReview:
    """Both people decrypted side by side (one audit event each), with what would move."""
    kept, duplicate = _pair(ctx, kept_reference, duplicate_reference)
    acts = people_queries.acts_of_person(ctx.session, duplicate)
    consents = merge_queries.consents_of(ctx.session, duplicate.id)
    return MergeReview(
        _side(ctx, kept), _side(ctx, duplicate), _fingerprint([a for a, _ in acts], consents)
    )


def merge(
    ctx: Context, kept_reference: str, duplicate_reference: str, *, fingerprint: str | None = None
) -> MergeNote:
    """Move the duplicate's acts and consents to the person kept, keep both records, and
    record the decision. With `fingerprint` (from the review), refuse if what would move
    is no longer what was reviewed."""
    kept, duplicate = _pair(ctx, kept_reference, duplicate_reference)
    # Checked again with both people locked: a merge of the same two the other way round,
    # committed meanwhile, would otherwise make a cycle.
    merge_queries.lock_people(ctx.session, [kept.id, duplicate.id])
    kept, duplicate = _pair(ctx, kept_reference, duplicate_reference)
    acts = [act for act, _ in people_queries.acts_of_person(ctx.session, duplicate)]
    consents = list(merge_queries.consents_of(ctx.session, duplicate.id))
    if fingerprint is not None and fingerprint != _fingerprint(acts, consents):
        raise ValidationError.on(
            FIELD,
            f"What is recorded about {duplicate.reference} changed after the comparison was "
            "opened; nothing was merged. Compare the two again, then confirm.",
        )
    row = PersonMerge(
        team_id=kept.team_id,
        kept_id=kept.id,
        merged_id=duplicate.id,
        moved_act_ids=[str(act.id) for act in acts],
        moved_consent_ids=[str(consent.id) for consent in consents],
        merged_by=ctx.actor.label,
        merged_by_id=ctx.actor.user_id,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(row)
    except IntegrityError:  # another merge of the same duplicate got in first
        raise ValidationError.on(
            FIELD, f"{duplicate.reference} was merged by someone else just now."
        ) from None
    _move(ctx, acts, consents, kept)
    _record_decision(ctx, AuditAction.PERSON_MERGE, row, duplicate, into=kept.reference)
    return _note(row, kept, duplicate)


def undo(ctx: Context, merge_id: uuid.UUID) -> MergeNote:
    """Move back exactly the acts and consents the merge moved; refused when any of them
    is no longer with the person kept (moved again, or erased with them)."""
    row, kept, duplicate = _merge_row(ctx, merge_id)
    pair = f"{duplicate.reference} into {kept.reference}"
    if row.undone_at is not None:
        raise ValidationError(f"The merge of {pair} was already undone.")
    for person in (kept, duplicate):
        if record_queries.is_erased(ctx.session, PERSON.table, person.id):
            raise ValidationError(f"{person.reference} was erased: the merge of {pair} stays.")
    acts = _still_with(ctx, Act, row.moved_act_ids, kept)
    consents = _still_with(ctx, Consent, row.moved_consent_ids, kept)
    if len(acts) + len(consents) != len(row.moved_act_ids) + len(row.moved_consent_ids):
        raise ValidationError(
            f"Some of the acts or consents this merge moved are no longer with {kept.reference}: "
            "nothing was undone."
        )
    row.undone_at = utcnow()
    row.undone_by = ctx.actor.label
    row.undone_by_id = ctx.actor.user_id
    try:
        ctx.session.flush()
    except StaleDataError:  # the lock: someone else undid it at the same moment
        raise ValidationError(f"The merge of {pair} was undone by someone else just now.") from None
    _move(ctx, acts, consents, duplicate)
    _record_decision(ctx, AuditAction.PERSON_UNMERGE, row, duplicate, **{"from": kept.reference})
    return _note(row, kept, duplicate)


def merge_note(ctx: Context, merge_id: uuid.UUID) -> MergeNote:
    """One merge, for a researcher of its team; NotFound for another team's."""
    row, kept, duplicate = _merge_row(ctx, merge_id)
    return _note(row, kept, duplicate)


def merge_state(ctx: Context, reference: str) -> MergeState:
    """What the person's page says: merged into whom, and who was merged into them."""
    person: Person = records.find(ctx, PERSON, reference, Permission.FIELDS_SECRET)
    into = merge_queries.active_merge_of(ctx.session, person.id)
    merged_into = None
    if into is not None:
        merged_into = _note(into, record_queries.by_id(ctx.session, Person, into.kept_id), person)
    rows = merge_queries.active_merges_into(ctx.session, person.id)
    # Everyone merged into them in one query: the page's statements do not grow with merges.
    merged: dict[uuid.UUID, Person] = {
        p.id: p for p in record_queries.by_ids(ctx.session, Person, {r.merged_id for r in rows})
    }
    here = tuple(_note(row, person, merged[row.merged_id]) for row in rows)
    return MergeState(merged_into, here)


def _pair(ctx: Context, kept_reference: str, duplicate_reference: str) -> tuple[Person, Person]:
    """Both people, once every rule for merging them holds (each broken one is named)."""
    kept = person_to_keep(ctx, kept_reference)
    refusal = _refusal_to_keep(ctx, kept)
    if refusal is not None:
        raise ValidationError.on(FIELD, refusal)
    text = " ".join((duplicate_reference or "").split()).upper()
    pattern = PERSON.reference_pattern
    if not text:
        raise ValidationError.on(FIELD, "Enter the reference of the other record, e.g. PER-0042.")
    if len(text) > 40 or pattern is None or not re.fullmatch(pattern, text):
        raise ValidationError.on(FIELD, "Enter a person's reference, such as PER-0042.")
    try:
        duplicate: Person = records.find(ctx, PERSON, text, Permission.CASE_WRITE)
    except NotFound:  # another team's person is no person, as for any link
        raise ValidationError.on(
            FIELD, f"There is no person {text} in your teams; check the reference."
        ) from None
    if duplicate.id == kept.id:
        raise ValidationError.on(
            FIELD, f"That is {kept.reference} itself: enter the reference of the other record."
        )
    if duplicate.team_id != kept.team_id:
        raise ValidationError.on(
            FIELD, f"{text} belongs to another team: only people of one team can be merged."
        )
    if record_queries.is_erased(ctx.session, PERSON.table, duplicate.id):
        raise ValidationError.on(FIELD, f"{text} was erased: an erased person cannot be merged.")
    earlier = merge_queries.active_merge_of(ctx.session, duplicate.id)
    if earlier is not None:
        into = record_queries.by_id(ctx.session, Person, earlier.kept_id)
        raise ValidationError.on(FIELD, f"{text} was already merged into {into.reference}.")
    if merge_queries.active_merges_into(ctx.session, duplicate.id):
        # No chains: each merged record points at a person who is not merged themselves.
        raise ValidationError.on(
            FIELD,
            f"Other records were merged into {text}: merge {kept.reference} into {text} "
            "instead, or undo those merges first.",
        )
    return kept, duplicate


def _refusal_to_keep(ctx: Context, kept: Person) -> str | None:
    if record_queries.is_erased(ctx.session, PERSON.table, kept.id):
        return f"{kept.reference} was erased: nothing can be merged into an erased person."
    merged = merge_queries.active_merge_of(ctx.session, kept.id)
    if merged is not None:
        into = record_queries.by_id(ctx.session, Person, merged.kept_id)
        return (
            f"{kept.reference} was merged into {into.reference}: merge other records "
            f"into {into.reference} instead."
        )
    return None


def _side(ctx: Context, person: Person) -> PersonSide:
    secrets = ctx.vault.unseal(person, *IDENTIFYING)
    _audit_decryption(ctx, person, list(IDENTIFYING), "merge review")
    team = record_queries.by_id(ctx.session, Team, person.team_id)
    acts = tuple(
        PersonAct(reference, act.act_type, act.start_date, act.start_precision, act.end_status)
        for act, reference in people_queries.acts_of_person(ctx.session, person)
    )
    consents = tuple(
        ConsentLine(c.use, c.granted_on, c.revoked_on)
        for c in merge_queries.consents_of(ctx.session, person.id)
    )
    return PersonSide(
        reference=person.reference,
        team_name=team.name if team is not None else None,
        gender=person.gender,
        age_band=person.age_band,
        created_at=person.created_at,
        full_name=secrets["full_name"],
        aliases=tuple(split_lines(secrets["aliases"])),
        date_of_birth=secrets["date_of_birth"],
        contact=secrets["contact"],
        acts=acts,
        consents=consents,
    )


def _audit_decryption(ctx: Context, person: Person, fields: list[str], purpose: str) -> None:
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.SECRET_DECRYPT,
        person,
        fields=fields,
        detail={"purpose": purpose},
    )


def _record_decision(
    ctx: Context, action: AuditAction, row: PersonMerge, duplicate: Person, **other: str
) -> None:
    """One event on the duplicate: the other person, the merge, and the ids of what moved."""
    moved = {"acts": row.moved_act_ids, "consents": row.moved_consent_ids}
    detail = {**other, "merge": str(row.id), **moved}
    record_event(ctx.session, ctx.actor, action, duplicate, detail=detail)


def _fingerprint(acts: Sequence[Act], consents: Sequence[Consent]) -> str:
    ids = sorted([f"act:{a.id}" for a in acts] + [f"consent:{c.id}" for c in consents])
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _move(ctx: Context, acts: Sequence[Act], consents: Sequence[Consent], to: Person) -> None:
    """Each act and consent to `to`, through the generic update: its lock, its event."""
    for act in acts:
        records.update(ctx, ACT, act.id, {"person": to.reference}, lock_version=act.lock_version)
    for consent in consents:
        records.update(
            ctx, CONSENT, consent.id, {"person": to.reference}, lock_version=consent.lock_version
        )


def _still_with(ctx: Context, model: type[Any], ids: list[str], kept: Person) -> list[Any]:
    """Those of the records `ids` that are still the person `kept`'s, and not erased."""
    found = record_queries.by_ids(ctx.session, model, [uuid.UUID(i) for i in ids])
    erased = record_queries.erased_ids(ctx.session, model.__tablename__, {r.id for r in found})
    return [r for r in found if r.person_id == kept.id and r.id not in erased]


def _merge_row(ctx: Context, merge_id: uuid.UUID) -> tuple[PersonMerge, Person, Person]:
    row = record_queries.by_id(ctx.session, PersonMerge, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}")
    ensure(ctx.principal, Permission.FIELDS_SECRET, row)
    ensure(ctx.principal, Permission.CASE_WRITE, row)
    kept = record_queries.by_id(ctx.session, Person, row.kept_id)
    duplicate = record_queries.by_id(ctx.session, Person, row.merged_id)
    return row, kept, duplicate


def _note(row: PersonMerge, kept: Person, duplicate: Person) -> MergeNote:
    return MergeNote(
        merge_id=row.id,
        kept_reference=kept.reference,
        merged_reference=duplicate.reference,
        merged_at=row.merged_at,
        merged_by=row.merged_by,
        acts=len(row.moved_act_ids),
        consents=len(row.moved_consent_ids),
        undone_at=row.undone_at,
    )
