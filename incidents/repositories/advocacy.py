"""Queries on advocacy actions and campaigns for their list and detail pages: one
statement per list, whatever its size, with each action's campaign joined in."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from incidents.models.advocacy import AdvocacyAction, Campaign
from incidents.models.organisation import Organisation
from incidents.models.vocabularies import ActionKind, ActionStatus, Impact, Priority
from incidents.repositories.records import where_given


@dataclass(frozen=True)
class ActionQuery:
    kind: ActionKind | None = None
    status: ActionStatus | None = None
    priority: Priority | None = None
    impact: Impact | None = None
    campaign: uuid.UUID | None = None
    date_from: date | None = None  # actions still going on, or ended, on or after this day
    date_to: date | None = None  # actions begun on or before this day


# Where a page of actions ends: the last one's start date (None: undated) and id.
Cursor = tuple[date | None, uuid.UUID]


def action_page(
    session: Session,
    teams: Collection[uuid.UUID] | None,
    query: ActionQuery,
    after: Cursor | None,
    limit: int,
) -> Sequence[AdvocacyAction]:
    """Actions newest first: the undated (still being planned) first, then by start date."""
    statement: Select[Any] = select(AdvocacyAction).options(joinedload(AdvocacyAction.campaign))
    if teams is not None:
        statement = statement.where(AdvocacyAction.team_id.in_(list(teams)))
    statement = filtered_actions(statement, query)
    if after is not None:
        when, last_id = after
        if when is None:
            statement = statement.where(
                or_(
                    and_(AdvocacyAction.start_date.is_(None), AdvocacyAction.id < last_id),
                    AdvocacyAction.start_date.is_not(None),
                )
            )
        else:
            statement = statement.where(
                or_(
                    AdvocacyAction.start_date < when,
                    and_(AdvocacyAction.start_date == when, AdvocacyAction.id < last_id),
                )
            )
    order = (AdvocacyAction.start_date.desc().nulls_first(), AdvocacyAction.id.desc())
    actions: Sequence[AdvocacyAction] = (
        session.scalars(statement.order_by(*order).limit(limit)).unique().all()
    )
    return actions


def filtered_actions(statement: Select[Any], query: ActionQuery) -> Select[Any]:
    """`statement` (of actions) narrowed to what `query` asks for: the action list's
    filters, which the API's list of actions takes too."""
    statement = where_given(
        statement,
        [
            (AdvocacyAction.kind, query.kind),
            (AdvocacyAction.status, query.status),
            (AdvocacyAction.priority, query.priority),
            (AdvocacyAction.impact, query.impact),
            (AdvocacyAction.campaign_id, query.campaign),
        ],
    )
    if query.date_from is not None:
        ends = func.coalesce(AdvocacyAction.end_date, AdvocacyAction.start_date)
        statement = statement.where(ends >= query.date_from)
    if query.date_to is not None:
        statement = statement.where(AdvocacyAction.start_date <= query.date_to)
    return statement


def campaigns_of(session: Session, teams: Collection[uuid.UUID] | None) -> Sequence[Campaign]:
    """Campaigns, the latest first (undated ones last), then by name."""
    statement = select(Campaign)
    if teams is not None:
        statement = statement.where(Campaign.team_id.in_(list(teams)))
    order = (Campaign.start_date.desc().nulls_last(), Campaign.name, Campaign.id)
    return session.scalars(statement.order_by(*order)).all()


def impact_counts(
    session: Session, campaign_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[Impact, int]]:
    """For each campaign, how many of its actions had each impact."""
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(AdvocacyAction.campaign_id, AdvocacyAction.impact, func.count())
        .where(AdvocacyAction.campaign_id.in_(list(campaign_ids)))
        .group_by(AdvocacyAction.campaign_id, AdvocacyAction.impact)
    ).all()
    counts: dict[uuid.UUID, dict[Impact, int]] = {}
    for campaign_id, impact, count in rows:
        if campaign_id is not None:
            counts.setdefault(campaign_id, {})[impact] = int(count)
    return counts


def actions_of_campaign(session: Session, campaign_id: uuid.UUID) -> Sequence[AdvocacyAction]:
    statement = (
        select(AdvocacyAction)
        .where(AdvocacyAction.campaign_id == campaign_id)
        .order_by(AdvocacyAction.start_date.nulls_last(), AdvocacyAction.reference)
    )
    return session.scalars(statement).all()


def organisations(session: Session) -> Sequence[Organisation]:
    return session.scalars(select(Organisation).order_by(Organisation.name)).all()


def organisation_named(session: Session, name: str) -> Organisation | None:
    """The organisation of this name (names are unique)."""
    return session.scalars(select(Organisation).where(Organisation.name == name)).one_or_none()
