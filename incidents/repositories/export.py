"""Reads for exports: the records of one kind in a set of teams, erased ones left out,
counted, and read in keyset batches (ordered by id, each batch after the last id seen),
so that a batch costs one statement however far into the table it is."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from incidents.models.erasure import Erasure
from incidents.models.organisation import Team


@dataclass(frozen=True)
class Scope:
    """Which records of a model an export reads.

    `teams` None means every team. A model without a team of its own is scoped through
    the record it hangs off: `parent` is that model and `parent_key` the column naming
    it (an action's responses, through `action_id`). A model with neither is shared by
    every team (organisations) and read whole.
    """

    model: type[Any]
    teams: frozenset[uuid.UUID] | None
    parent: type[Any] | None = None
    parent_key: str | None = None

    def condition(self) -> ColumnElement[bool]:
        model = self.model
        not_erased = ~(
            select(Erasure.id)
            .where(Erasure.record_table == model.__tablename__, Erasure.record_id == model.id)
            .exists()
        )
        if self.teams is None:
            return not_erased
        teams = sorted(self.teams)
        if "team_id" in model.__table__.columns:
            in_teams: ColumnElement[bool] = model.team_id.in_(teams)
            return not_erased & in_teams
        if self.parent is not None and self.parent_key is not None:
            parents = select(self.parent.id).where(self.parent.team_id.in_(teams))
            of_parents: ColumnElement[bool] = getattr(model, self.parent_key).in_(parents)
            return not_erased & of_parents
        return not_erased  # shared by every team


def count_records(session: Session, scope: Scope) -> int:
    statement = select(func.count()).select_from(scope.model).where(scope.condition())
    return int(session.scalar(statement) or 0)


def record_batch(
    session: Session, scope: Scope, after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    """Up to `limit` records of the scope after the id `after`, by id. Relationships the
    model loads eagerly (an incident's violation types) come with the batch."""
    statement = select(scope.model).where(scope.condition())
    if after is not None:
        statement = statement.where(scope.model.id > after)
    return session.scalars(statement.order_by(scope.model.id).limit(limit)).unique().all()


def teams_in(session: Session, ids: Collection[uuid.UUID] | None) -> Sequence[Team]:
    """The teams with these ids (every team for None), by slug."""
    statement = select(Team).order_by(Team.slug)
    if ids is not None:
        statement = statement.where(Team.id.in_(sorted(ids)))
    return session.scalars(statement).all()
