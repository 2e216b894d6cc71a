"""The one query behind the API's list of any kind of record: its teams' records, erased
ones left out, narrowed by a list page's filters and by the records they hang off, in
order of id from a cursor (keyset paging on the primary key's index)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure

Narrowing = Callable[[Select[Any]], Select[Any]]


@dataclass(frozen=True)
class TeamThrough:
    """For a kind without a team of its own: the record it hangs off gives it (an
    action's response is in the action's team)."""

    parent: type[Any]
    column: str  # the column of the kind that names the parent: action_id


@dataclass(frozen=True)
class RecordListing:
    model: type[Any]
    teams: Collection[uuid.UUID] | None  # None: every team (the operator)
    team_through: TeamThrough | None = None
    shared: bool = False  # a kind of no team at all (organisations)
    narrowing: Narrowing | None = None  # a list page's filters
    links: Mapping[str, uuid.UUID] = field(default_factory=dict)  # column → record id


def record_page(
    session: Session, listing: RecordListing, after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    """Up to `limit` records after the id `after`, in order of id."""
    model = listing.model
    statement: Select[Any] = select(model).where(
        ~select(Erasure.id)
        .where(Erasure.record_table == model.__tablename__, Erasure.record_id == model.id)
        .exists()
    )
    if listing.teams is not None and not listing.shared:
        teams = list(listing.teams)
        if listing.team_through is None:
            statement = statement.where(model.team_id.in_(teams))
        else:
            parent = listing.team_through.parent
            statement = statement.where(
                getattr(model, listing.team_through.column).in_(
                    select(parent.id).where(parent.team_id.in_(teams))
                )
            )
    for column, record_id in listing.links.items():
        statement = statement.where(getattr(model, column) == record_id)
    if listing.narrowing is not None:
        statement = listing.narrowing(statement)
    if after is not None:
        statement = statement.where(model.id > after)
    return session.scalars(statement.order_by(model.id).limit(limit)).unique().all()
