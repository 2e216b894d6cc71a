"""`incidents retention plan` and `retention apply`: what the retention rules say is due,
and crypto-shredding it, one record per transaction."""

from __future__ import annotations

import json
import uuid

import click

from incidents.cli.boundary import as_operator, commit_each_batch
from incidents.cli.output import progress
from incidents.context import Context
from incidents.services import accounts, retention
from incidents.services.retention import DueItem, HeldItem, RetentionPlan


@click.group("retention")
def retention_group() -> None:
    """Retention rules: what is due for crypto-shredding, and shredding it."""


def _team_id(ctx: Context, slug: str | None) -> uuid.UUID | None:
    if slug is None:
        return None
    team = accounts.team_by_slug(ctx, slug)
    if team is None:
        raise click.ClickException(f"no team {slug!r}")
    return team.id


def _row(item: DueItem) -> str:
    return f"{item.reference}\t{item.kind}\t{item.what}\t{item.due_on.isoformat()}\t{item.rule}"


def _held_row(held: HeldItem) -> str:
    since = held.hold.held_at.strftime("%Y-%m-%d")
    return f"{_row(held.item)}\theld since {since} ({held.hold.reference})"


def _as_json(item: DueItem) -> dict[str, object]:
    return {
        "reference": item.reference,
        "kind": item.kind,
        "field": item.field,
        "rule": item.rule,
        "rule_id": str(item.rule_id),
        "due_on": item.due_on.isoformat(),
    }


def _plan_text(plan: RetentionPlan) -> str:
    lines = [f"due on {plan.today.isoformat()}: {len(plan.due)}"]
    if plan.due:
        lines += ["reference\tkind\tfield\tdue on\trule", *map(_row, plan.due)]
    lines.append(f"held (skipped): {len(plan.held)}")
    lines += map(_held_row, plan.held)
    return "\n".join(lines)


@retention_group.command("plan")
@click.option("--team", "team", default=None, help="Only the records of this team (its slug).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@as_operator
def plan_command(ctx: Context, team: str | None, as_json: bool) -> str:
    """List what is due for retention erasure, and the held records that are skipped."""
    plan = retention.plan(ctx, team_id=_team_id(ctx, team))
    if not as_json:
        return _plan_text(plan)
    document = {
        "today": plan.today.isoformat(),
        "due": [_as_json(item) for item in plan.due],
        "held": [
            _as_json(h.item) | {"hold": h.hold.reference, "held_since": h.hold.held_at.isoformat()}
            for h in plan.held
        ],
    }
    return json.dumps(document, indent=2)


@retention_group.command("apply")
@click.option("--team", "team", default=None, help="Only the records of this team (its slug).")
@click.option("--yes", is_flag=True, help="Do not ask before shredding.")
@as_operator
def apply_command(ctx: Context, team: str | None, yes: bool) -> str:
    """Crypto-shred what is due, one record at a time, each committed on its own.

    Resumable: stopped half-way, run it again and it shreds what is still due. Held
    records are skipped and listed.
    """
    plan = retention.plan(ctx, team_id=_team_id(ctx, team))
    for held in plan.held:
        click.echo(f"skipped, held: {_held_row(held)}", err=True)
    if not plan.due:
        return f"nothing due on {plan.today.isoformat()}; {len(plan.held)} held records skipped"
    if not yes:
        click.confirm(
            f"Crypto-shred {len(plan.due)} records or fields? This cannot be undone",
            abort=True,
            err=True,
        )
    with progress(len(plan.due), "Shredding") as bar:
        outcome = retention.apply(ctx, plan, commit_each_batch(ctx, bar))
    return (
        f"shredded {outcome.shredded} ({outcome.skipped} no longer due); "
        f"{len(plan.held)} held records skipped"
    )
