"""Advocacy actions and campaigns as one user sees them: the list of actions (filtered,
paged by keyset), one action, the campaigns with their outcomes, one campaign with its
actions and totals. These records have public and advocacy fields only: nothing is
decrypted, and no field of a case is read."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from incidents.context import Context
from incidents.errors import NotFound
from incidents.models.advocacy import AdvocacyAction, Campaign
from incidents.models.user import User
from incidents.models.vocabularies import ActionKind, ActionStatus, Impact, Priority
from incidents.permissions import (
    Permission,
    can_in_team,
    ensure,
    readable_field_classes,
    readable_teams,
)
from incidents.read_models import read_model
from incidents.records.fields import InputField
from incidents.records.kinds import ADVOCACY_ACTION, CAMPAIGN
from incidents.redaction import visible_values
from incidents.repositories import advocacy as advocacy_queries
from incidents.repositories import records as record_queries
from incidents.services import listing, records
from incidents.services.history import History, history_of

PAGE_SIZE = 50
# The outcomes of a campaign, best first; "unknown" last.
IMPACTS = tuple(Impact)


def _uuid(args: Mapping[str, str], name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(args.get(name, "").strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class ActionFilters(listing.QueryFilters, advocacy_queries.ActionQuery):
    """What an action list is narrowed to, from a query string: values that mean
    nothing are dropped."""

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> ActionFilters:
        return cls(
            kind=listing.choice(args, "kind", ActionKind),
            status=listing.choice(args, "status", ActionStatus),
            priority=listing.choice(args, "priority", Priority),
            impact=listing.choice(args, "impact", Impact),
            campaign=_uuid(args, "campaign"),
            date_from=listing.day(args, "date_from"),
            date_to=listing.day(args, "date_to"),
        )


@dataclass(frozen=True)
class ActionRow:
    reference: str
    title: str
    kind: ActionKind
    start_date: date | None
    end_date: date | None
    status: ActionStatus
    priority: Priority | None
    impact: Impact
    signatures: int | None
    participants: int | None
    campaign_id: uuid.UUID | None
    campaign_name: str | None


@dataclass(frozen=True)
class ActionPage:
    rows: tuple[ActionRow, ...]
    next_after: str | None
    filters: ActionFilters
    campaigns: tuple[tuple[str, str], ...]  # (id, name) to filter by


def _cursor_text(action: AdvocacyAction) -> str:
    when = action.start_date.isoformat() if action.start_date else ""
    return f"{when}~{action.id}"


def _parse_cursor(text: str | None) -> advocacy_queries.Cursor | None:
    if not text or "~" not in text:
        return None
    when, _, record_id = text.partition("~")
    try:
        return (date.fromisoformat(when) if when else None), uuid.UUID(record_id)
    except ValueError:
        return None


def list_actions(
    ctx: Context, filters: ActionFilters, after: str | None = None, limit: int = PAGE_SIZE
) -> ActionPage:
    """One page of the actions of the user's teams, newest first."""
    ensure(ctx.principal, Permission.ADVOCACY_READ)
    teams = readable_teams(ctx.principal)
    rows = advocacy_queries.action_page(
        ctx.session, teams, filters, _parse_cursor(after), limit + 1
    )
    shown = rows[:limit]
    classes = readable_field_classes(ctx.principal)
    page = tuple(
        read_model(
            ActionRow,
            visible_values(action, classes),
            campaign_name=action.campaign.name if action.campaign else None,
        )
        for action in shown
    )
    cursor = _cursor_text(shown[-1]) if len(rows) > limit else None
    campaigns = tuple(
        (str(c.id), c.name) for c in advocacy_queries.campaigns_of(ctx.session, teams)
    )
    return ActionPage(page, cursor, filters, campaigns)


@dataclass(frozen=True)
class ActionView:
    """An action as one reader may see it: its public and advocacy fields; its
    bookkeeping (when it was recorded) is restricted, None for an advocacy lead."""

    id: uuid.UUID
    reference: str
    kind: ActionKind
    title: str
    description: str
    start_date: date | None
    end_date: date | None
    target: str | None
    places: str | None
    demands: str | None
    signatures: int | None
    participants: int | None
    priority: Priority | None
    status: ActionStatus
    external_reference: str | None
    impact: Impact
    created_at: datetime | None
    updated_at: datetime | None
    campaign_id: uuid.UUID | None
    campaign_name: str | None
    organisations: tuple[str, ...]
    labels: dict[str, str]  # the registry's label of each field
    may_edit: bool
    history: History | None


def find_action(ctx: Context, reference: str) -> AdvocacyAction:
    """The action `reference` for a reader of advocacy records of its team; NotFound for
    another team's, as for none."""
    action: AdvocacyAction = records.find(ctx, ADVOCACY_ACTION, reference, Permission.ADVOCACY_READ)
    if record_queries.is_erased(ctx.session, ADVOCACY_ACTION.table, action.id):
        raise NotFound(f"{reference} was erased")
    return action


def view_action(ctx: Context, action: AdvocacyAction) -> ActionView:
    classes = readable_field_classes(ctx.principal)
    campaign = action.campaign
    return read_model(
        ActionView,
        visible_values(action, classes),
        id=action.id,  # what the page's links are made of, not shown
        campaign_name=campaign.name if campaign else None,
        organisations=tuple(o.name for o in action.organisations),
        labels=labels_of(ADVOCACY_ACTION.fields),
        may_edit=can_in_team(ctx.principal, Permission.ADVOCACY_WRITE, action.team_id),
        history=history_of(ctx, ADVOCACY_ACTION, action),
    )


def labels_of(fields: tuple[InputField, ...]) -> dict[str, str]:
    """Each field's label from the registry, as a heading: "Number of signatures"."""
    return {spec.name: spec.label[:1].upper() + spec.label[1:] for spec in fields}


def campaign_choices(ctx: Context, team_id: uuid.UUID | None = None) -> list[tuple[str, str]]:
    """The campaigns an action may belong to: those of `team_id`, or of the user's teams
    (named with their team when the user works in several)."""
    ensure(ctx.principal, Permission.ADVOCACY_READ)
    teams = readable_teams(ctx.principal)
    if team_id is not None:
        teams = frozenset({team_id}) if teams is None or team_id in teams else frozenset()
    campaigns = advocacy_queries.campaigns_of(ctx.session, teams)
    team_names = _team_names(ctx)
    if team_id is not None or len(team_names) < 2:
        return [(str(c.id), c.name) for c in campaigns]
    return [(str(c.id), f"{c.name} ({team_names.get(c.team_id, '')})") for c in campaigns]


def _team_names(ctx: Context) -> dict[uuid.UUID, str]:
    if not isinstance(ctx.principal, User):
        return {}
    return {team.id: team.name for team in ctx.principal.member_teams}


def organisation_choices(ctx: Context) -> list[tuple[str, str]]:
    """Every organisation (they are shared by all teams), by name."""
    ensure(ctx.principal, Permission.ADVOCACY_READ)
    return [(str(o.id), o.name) for o in advocacy_queries.organisations(ctx.session)]


@dataclass(frozen=True)
class CampaignRow:
    id: uuid.UUID
    name: str
    start_date: date | None
    end_date: date | None
    actions: int
    outcomes: tuple[tuple[Impact, int], ...]  # actions per impact, those with any


def _outcomes(counts: Mapping[Impact, int]) -> tuple[tuple[Impact, int], ...]:
    return tuple((impact, counts[impact]) for impact in IMPACTS if counts.get(impact))


def list_campaigns(ctx: Context) -> list[CampaignRow]:
    """The campaigns of the user's teams, each with its number of actions and outcomes."""
    ensure(ctx.principal, Permission.ADVOCACY_READ)
    campaigns = advocacy_queries.campaigns_of(ctx.session, readable_teams(ctx.principal))
    counts = advocacy_queries.impact_counts(ctx.session, [c.id for c in campaigns])
    return [
        CampaignRow(
            id=c.id,
            name=c.name,
            start_date=c.start_date,
            end_date=c.end_date,
            actions=sum(counts.get(c.id, {}).values()),
            outcomes=_outcomes(counts.get(c.id, {})),
        )
        for c in campaigns
    ]


@dataclass(frozen=True)
class CampaignView:
    id: uuid.UUID
    name: str
    description: str
    start_date: date | None
    end_date: date | None
    created_at: datetime | None
    actions: tuple[ActionRow, ...]
    signatures: int
    participants: int
    outcomes: tuple[tuple[Impact, int], ...]
    labels: dict[str, str]
    may_edit: bool
    history: History | None


def view_campaign(ctx: Context, campaign_id: uuid.UUID) -> CampaignView:
    campaign: Campaign = records.find(ctx, CAMPAIGN, campaign_id, Permission.ADVOCACY_READ)
    classes = readable_field_classes(ctx.principal)
    actions = advocacy_queries.actions_of_campaign(ctx.session, campaign.id)
    rows = tuple(
        read_model(ActionRow, visible_values(a, classes), campaign_name=campaign.name)
        for a in actions
    )
    counts: dict[Impact, int] = {}
    for action in actions:
        counts[action.impact] = counts.get(action.impact, 0) + 1
    return read_model(
        CampaignView,
        visible_values(campaign, classes),
        id=campaign.id,  # the page's address
        actions=rows,
        signatures=sum(a.signatures or 0 for a in actions),
        participants=sum(a.participants or 0 for a in actions),
        outcomes=_outcomes(counts),
        labels=labels_of(CAMPAIGN.fields),
        may_edit=can_in_team(ctx.principal, Permission.ADVOCACY_WRITE, campaign.team_id),
        history=history_of(ctx, CAMPAIGN, campaign),
    )


def campaign_team(ctx: Context, campaign_id: uuid.UUID) -> uuid.UUID | None:
    """The team of a campaign the user may read, for an action added to it; None for
    any other."""
    try:
        campaign: Campaign = records.find(ctx, CAMPAIGN, campaign_id, Permission.ADVOCACY_READ)
    except NotFound:
        return None
    return campaign.team_id
