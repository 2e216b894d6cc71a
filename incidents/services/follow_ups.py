"""Follow-ups: what is due next on an action, by when, and who is on it.

A follow-up is assigned to a colleague of the action's team who may work on advocacy
(advocacy:write); anyone else is refused. It is marked done, and undone, through the
registry (incidents/services/records.py) with the version it was shown at, so each
change is audited and a change made meanwhile is not overwritten. Overdue: not done and
due before today.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from incidents.context import Context
from incidents.db import utcnow
from incidents.errors import ValidationError
from incidents.models.advocacy import AdvocacyAction, FollowUp
from incidents.models.user import User
from incidents.permissions import Permission, can_in_team, permissions_of, readable_teams
from incidents.records.fields import Problem
from incidents.records.kinds import ADVOCACY_ACTION, FOLLOW_UP
from incidents.repositories import action_work as queries
from incidents.repositories import records as record_queries
from incidents.services import records

ASSIGNEE = FOLLOW_UP.field("assignee")
NOT_ASSIGNABLE = (
    "Choose someone of this action's team who works on its advocacy: "
    "the person chosen cannot be given this follow-up."
)


@dataclass(frozen=True)
class Colleague:
    id: uuid.UUID
    name: str  # display name


@dataclass(frozen=True)
class FollowUpView:
    id: uuid.UUID
    action_reference: str
    action_title: str
    description: str
    due_on: date | None
    assignee: str | None  # display name
    assignee_id: uuid.UUID | None
    done_at: datetime | None
    overdue: bool
    due_today: bool
    lock_version: int

    @property
    def done(self) -> bool:
        return self.done_at is not None


def today() -> date:
    return datetime.now(UTC).date()


def is_overdue(follow_up: FollowUp, on: date | None = None) -> bool:
    day = on or today()
    return follow_up.done_at is None and follow_up.due_on is not None and follow_up.due_on < day


def view(row: queries.FollowUpRow, on: date | None = None) -> FollowUpView:
    day = on or today()
    f = row.follow_up
    return FollowUpView(
        id=f.id,
        action_reference=row.action_reference,
        action_title=row.action_title,
        description=f.description,
        due_on=f.due_on,
        assignee=row.assignee,
        assignee_id=f.assignee_id,
        done_at=f.done_at,
        overdue=is_overdue(f, day),
        due_today=f.done_at is None and f.due_on == day,
        lock_version=f.lock_version,
    )


def of_action(ctx: Context, action: AdvocacyAction) -> tuple[FollowUpView, ...]:
    """The action's follow-ups, open first by due date (the caller checked reading)."""
    day = today()
    return tuple(view(row, day) for row in queries.follow_ups_of(ctx.session, action.id))


def assignable(ctx: Context, team_id: uuid.UUID) -> list[Colleague]:
    """The colleagues of the team who may take a follow-up: active members holding
    advocacy:write."""
    return [
        Colleague(user.id, user.display_name)
        for user in queries.members_of(ctx.session, team_id)
        if Permission.ADVOCACY_WRITE in permissions_of(user.role_set)
    ]


def check_assignee(ctx: Context, team_id: uuid.UUID, raw: object) -> None:
    """ValidationError on `assignee` unless `raw` (a user id, or nothing) names a
    colleague who may take follow-ups in the team."""
    try:
        chosen = ASSIGNEE.parse(raw)
    except Problem as problem:
        raise ValidationError.on("assignee", str(problem)) from None
    if chosen is None:
        return
    if chosen not in {c.id for c in assignable(ctx, team_id)}:
        raise ValidationError.on("assignee", NOT_ASSIGNABLE)


def assignee_by_email(
    ctx: Context, team_id: uuid.UUID, raw: object, current: uuid.UUID | None = None
) -> object:
    """`raw` as `check_assignee` takes it when it is an e-mail address (documents name
    users by e-mail): the id of the team's member with that address, or of the
    `current` assignee (kept, though they may have left since). Only these are looked
    up, so an address of another team's user is refused exactly like one of nobody;
    anything else is left as it is, for the checks to judge."""
    if not isinstance(raw, str) or "@" not in raw:
        return raw
    wanted = raw.strip().lower()
    candidates = list(queries.members_of(ctx.session, team_id))
    if current is not None:
        kept = record_queries.by_id(ctx.session, User, current)
        candidates += [kept] if kept is not None else []
    for user in candidates:
        if user.email.lower() == wanted:
            return str(user.id)
    raise ValidationError.on("assignee", NOT_ASSIGNABLE)


def create(
    ctx: Context,
    action: AdvocacyAction | str,
    raw: Mapping[str, object],
    *,
    record_id: uuid.UUID | None = None,
) -> FollowUp:
    """A new follow-up of `action` (or its reference): description, due_on, assignee (a
    user's id, or their e-mail); with the id it has in an imported file (`record_id`)."""
    found = _action(ctx, action)
    if "done_at" in raw:
        raise ValidationError.on("done_at", "A follow-up is marked done once it exists.")
    if "assignee" in raw:
        raw = {**raw, "assignee": assignee_by_email(ctx, found.team_id, raw["assignee"])}
    check_assignee(ctx, found.team_id, raw.get("assignee"))
    follow_up: FollowUp = records.create(
        ctx, FOLLOW_UP, {**raw, "action": found.reference}, record_id=record_id
    )
    return follow_up


def update(
    ctx: Context, follow_up_id: uuid.UUID, raw: Mapping[str, object], *, lock_version: int
) -> records.Updated:
    """Change a follow-up's description, due date or assignee (an id or an e-mail),
    edited from `lock_version`."""
    follow_up = find(ctx, follow_up_id)
    if "action" in raw or "done_at" in raw:
        raise ValidationError("Only the description, the due date and the assignee change here.")
    if "assignee" in raw:
        team_id = follow_up.action.team_id
        chosen = assignee_by_email(ctx, team_id, raw["assignee"], follow_up.assignee_id)
        raw = {**raw, "assignee": chosen}
    if "assignee" in raw and _changes_assignee(follow_up, raw["assignee"]):
        check_assignee(ctx, follow_up.action.team_id, raw["assignee"])
    return records.update(ctx, FOLLOW_UP, follow_up_id, raw, lock_version=lock_version)


def _changes_assignee(follow_up: FollowUp, raw: object) -> bool:
    """Whether `raw` names another assignee (one kept though their role changed stays)."""
    try:
        return bool(ASSIGNEE.parse(raw) != follow_up.assignee_id)
    except Problem:
        return True


def mark_done(ctx: Context, follow_up_id: uuid.UUID, lock_version: int) -> FollowUp:
    follow_up = find(ctx, follow_up_id)
    if follow_up.done_at is not None:
        raise ValidationError("This follow-up is already marked done.")
    records.update(ctx, FOLLOW_UP, follow_up_id, {"done_at": utcnow()}, lock_version=lock_version)
    return follow_up


def mark_undone(ctx: Context, follow_up_id: uuid.UUID, lock_version: int) -> FollowUp:
    follow_up = find(ctx, follow_up_id)
    if follow_up.done_at is None:
        raise ValidationError("This follow-up is not marked done.")
    records.update(ctx, FOLLOW_UP, follow_up_id, {"done_at": None}, lock_version=lock_version)
    return follow_up


def find(ctx: Context, follow_up_id: uuid.UUID) -> FollowUp:
    """A follow-up the principal may change (advocacy:write in its action's team)."""
    follow_up: FollowUp = records.find(ctx, FOLLOW_UP, follow_up_id, FOLLOW_UP.write_permission)
    return follow_up


def follow_ups_due(
    ctx: Context, within_days: int = 14, on: date | None = None
) -> list[FollowUpView]:
    """The open follow-ups of the principal's teams (where they may read advocacy work)
    due within `within_days` from `on` (today): the overdue first, then by due date."""
    day = on or today()
    teams = advocacy_teams(ctx)
    if teams is not None and not teams:
        return []
    rows = queries.open_follow_ups(ctx.session, teams, day + timedelta(days=within_days))
    return [view(row, day) for row in rows]


def advocacy_teams(ctx: Context) -> frozenset[uuid.UUID] | None:
    """The teams whose advocacy work the principal may read (None: every team)."""
    teams = readable_teams(ctx.principal)
    if teams is None:
        return None
    return frozenset(t for t in teams if can_in_team(ctx.principal, Permission.ADVOCACY_READ, t))


def _action(ctx: Context, action: AdvocacyAction | str) -> AdvocacyAction:
    key = action if isinstance(action, str) else action.id
    found: AdvocacyAction = records.find(ctx, ADVOCACY_ACTION, key, FOLLOW_UP.write_permission)
    return found
