"""People: recording them (with duplicate suggestions first) and reading one as a
researcher of their team sees them. Finding them is incidents/services/person_matching.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.models.organisation import Team
from incidents.models.person import Person
from incidents.models.vocabularies import ActEndStatus, ActType, AgeBand, DatePrecision, Gender
from incidents.names import split_lines
from incidents.permissions import Permission, ensure
from incidents.records.kinds import PERSON
from incidents.repositories import people as people_queries
from incidents.repositories import records as record_queries
from incidents.services import erasure, records
from incidents.services.erasure import Tombstone
from incidents.services.history import History, history_of
from incidents.services.person_matching import PersonMatch, possible_duplicates

IDENTIFYING = ("full_name", "aliases", "date_of_birth", "contact")
# How the person describes themselves: on their page only, for the team's researchers.
SELF_IDENTIFIED = ("sexual_orientation", "gender_identity")


@dataclass(frozen=True)
class Registration:
    """The outcome of registering a person: the new record, or the possible duplicates
    the user has to look at first."""

    person: Person | None
    duplicates: list[PersonMatch] = field(default_factory=list)


@dataclass(frozen=True)
class PersonAct:
    incident_reference: str
    act_type: ActType
    start_date: date | None
    start_precision: DatePrecision
    end_status: ActEndStatus


@dataclass(frozen=True)
class PersonView:
    """A person as a researcher of their team sees them; an erased one is its tombstone."""

    reference: str
    gender: Gender
    age_band: AgeBand
    team_name: str | None
    created_at: datetime
    updated_at: datetime
    lock_version: int
    full_name: str | None = None
    aliases: tuple[str, ...] = ()
    date_of_birth: str | None = None
    contact: str | None = None
    sexual_orientation: str | None = None  # None: not recorded
    gender_identity: str | None = None
    acts: tuple[PersonAct, ...] = ()
    erasure: Tombstone | None = None
    history: History | None = None


def ensure_people_access(ctx: Context, *, write: bool = False) -> None:
    """People pages are for researchers: those who may read secret fields (and write)."""
    ensure(ctx.principal, Permission.FIELDS_SECRET)
    if write:
        ensure(ctx.principal, Permission.CASE_WRITE)


def create_person(
    ctx: Context,
    team_id: uuid.UUID,
    details: Mapping[str, object],
    *,
    record_id: uuid.UUID | None = None,
    reference: str | None = None,
) -> Person:
    """Record a person in the team: identifying fields sealed and blind-indexed, audited;
    an imported person keeps the id and, when it is free, the reference of its file."""
    person: Person = records.create(
        ctx, PERSON, _tidy(details), team_id=team_id, record_id=record_id, reference=reference
    )
    return person


def register_person(
    ctx: Context,
    team_id: uuid.UUID,
    details: Mapping[str, object],
    *,
    confirmed_different: bool = False,
) -> Registration:
    """Create a person unless possible duplicates exist and the user has not yet said
    that this is a different person. Looking for duplicates decrypts, and those
    decryptions are audited whichever way it goes."""
    ensure_people_access(ctx, write=True)
    details = _tidy(details)
    if not confirmed_different:
        duplicates = possible_duplicates(ctx, team_id, details)
        if duplicates:
            return Registration(None, duplicates)
    return Registration(create_person(ctx, team_id, details))


def _tidy(details: Mapping[str, object]) -> dict[str, object]:
    """One space between the words of the name, and no alias that only repeats it."""
    tidy = dict(details)
    name = tidy.get("full_name")
    if isinstance(name, str):
        tidy["full_name"] = " ".join(name.split())
        aliases = tidy.get("aliases")
        if isinstance(aliases, str):
            tidy["aliases"] = "\n".join(a for a in split_lines(aliases) if a != tidy["full_name"])
    return tidy


def view_person(ctx: Context, reference: str) -> PersonView:
    """A person as a researcher of its team sees it: decrypted, with one audit event.

    An erased person shows its tombstone and decrypts nothing.
    """
    person: Person = records.find(ctx, PERSON, reference, Permission.FIELDS_SECRET)
    team = record_queries.by_id(ctx.session, Team, person.team_id)
    common: dict[str, Any] = {
        "reference": person.reference,
        "gender": person.gender,
        "age_band": person.age_band,
        "lock_version": person.lock_version,
        "team_name": team.name if team is not None else None,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
    }
    tombstone = erasure.tombstone_for(ctx, reference)
    if tombstone is not None:  # only the tombstone is left: nothing is decrypted
        return PersonView(**common, erasure=tombstone)
    opened = (*IDENTIFYING, *SELF_IDENTIFIED)
    secrets = ctx.vault.unseal(person, *opened)
    record_event(ctx.session, ctx.actor, AuditAction.SECRET_DECRYPT, person, fields=list(opened))
    acts = tuple(
        PersonAct(reference, act.act_type, act.start_date, act.start_precision, act.end_status)
        for act, reference in people_queries.acts_of_person(ctx.session, person)
    )
    return PersonView(
        full_name=secrets["full_name"],
        aliases=tuple(split_lines(secrets["aliases"])),
        date_of_birth=secrets["date_of_birth"],
        contact=secrets["contact"],
        sexual_orientation=secrets["sexual_orientation"],
        gender_identity=secrets["gender_identity"],
        acts=acts,
        history=history_of(ctx, PERSON, person),
        **common,
    )
