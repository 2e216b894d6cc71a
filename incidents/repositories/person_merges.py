"""Queries on merges of duplicate people, and on what a merge moves."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from incidents.models.consent import Consent
from incidents.models.person import Person
from incidents.models.person_merge import PersonMerge


def active_merge_of(session: Session, person_id: uuid.UUID) -> PersonMerge | None:
    """The merge, not undone, that merged this person into another, if there is one."""
    return session.scalars(
        select(PersonMerge).where(
            PersonMerge.merged_id == person_id, PersonMerge.undone_at.is_(None)
        )
    ).one_or_none()


def active_merges_into(session: Session, person_id: uuid.UUID) -> Sequence[PersonMerge]:
    """The merges, not undone, that merged other people into this one, oldest first."""
    return session.scalars(
        select(PersonMerge)
        .where(PersonMerge.kept_id == person_id, PersonMerge.undone_at.is_(None))
        .order_by(PersonMerge.merged_at)
    ).all()


def kept_references(session: Session, references: Collection[str]) -> dict[str, str]:
    """For each of these people merged into another (and not undone): merged → kept."""
    if not references:
        return {}
    merged, kept = aliased(Person), aliased(Person)
    rows = session.execute(
        select(merged.reference, kept.reference)
        .join(PersonMerge, PersonMerge.merged_id == merged.id)
        .join(kept, kept.id == PersonMerge.kept_id)
        .where(merged.reference.in_(list(references)), PersonMerge.undone_at.is_(None))
    )
    return {merged_reference: kept_reference for merged_reference, kept_reference in rows}


def consents_of(session: Session, person_id: uuid.UUID) -> Sequence[Consent]:
    return session.scalars(
        select(Consent)
        .where(Consent.person_id == person_id)
        .order_by(Consent.granted_on, Consent.use, Consent.id)
    ).all()


def lock_people(session: Session, person_ids: Collection[uuid.UUID]) -> None:
    """Lock the people's rows (FOR UPDATE on PostgreSQL; SQLite's write transactions are
    one at a time already), always in the order of their ids so that two merges of the
    same pair cannot wait on each other."""
    session.execute(
        select(Person.id)
        .where(Person.id.in_(list(person_ids)))
        .order_by(Person.id)
        .with_for_update()
    ).all()
