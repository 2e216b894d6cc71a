"""`incidents retention plan` and `retention apply` at the command line: the plan as a
table and as JSON, held records listed apart, a run that asks first, and a run killed
half-way that picks up what is still due when started again."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.cli import cli
from incidents.context import Context
from incidents.models import Team
from incidents.services import retention, retention_rules
from tests.helpers import events, invoke
from tests.services import retention_world
from tests.services.retention_world import RetentionWorld


@pytest.fixture
def world(ctx: Context, db_session: Session) -> RetentionWorld:
    return retention_world.build(ctx, db_session)


def _slug(db_session: Session, world: RetentionWorld) -> str:
    team = db_session.get(Team, world.team_id)
    assert team is not None
    return team.slug


def _planned(app: Flask, slug: str) -> set[tuple[str, str | None]]:
    result = invoke(app, cli, "retention", "plan", "--team", slug, "--json")
    assert result.exit_code == 0, result.output
    return {(item["reference"], item["field"]) for item in json.loads(result.stdout)["due"]}


def test_the_plan_is_a_table_of_what_is_due_and_of_what_is_held(
    app: Flask, ctx: Context, db_session: Session, world: RetentionWorld
) -> None:
    person = world.records["person"]["overdue"]
    retention_rules.place_hold(ctx, person.reference, "Court order 9/2026")
    result = invoke(app, cli, "retention", "plan", "--team", _slug(db_session, world))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"due on {world.today.isoformat()}: {len(world.due()) - 1}"
    assert lines[1] == "reference\tkind\tfield\tdue on\trule"
    source = world.records["source contact"]["today"]
    row = next(line for line in lines if line.startswith(source.reference))
    assert row.split("\t")[:4] == [source.reference, "source", "contact", world.today.isoformat()]
    assert row.endswith("source contact: 2 years after its last report was received")
    assert "held (skipped): 1" in lines
    held = lines[lines.index("held (skipped): 1") + 1]
    assert held.startswith(f"{person.reference}\tperson\twhole record\t")
    assert held.endswith(f"held since {world.today:%Y-%m-%d} ({person.reference})")


def test_the_plan_as_json_lists_exactly_the_due(
    app: Flask, db_session: Session, world: RetentionWorld
) -> None:
    assert _planned(app, _slug(db_session, world)) == world.due()


def test_an_unknown_team_is_one_line(app: Flask, db_session: Session) -> None:
    result = invoke(app, cli, "retention", "plan", "--team", "no-such-team")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no team 'no-such-team'"


def test_apply_asks_first_and_shreds_nothing_when_refused(
    app: Flask, db_session: Session, world: RetentionWorld
) -> None:
    slug = _slug(db_session, world)
    result = invoke(app, cli, "retention", "apply", "--team", slug, input="n\n")
    assert result.exit_code == 1
    assert "Crypto-shred 8 records or fields?" in result.stderr
    assert _planned(app, slug) == world.due()


def test_apply_shreds_what_is_due_with_a_bar_and_an_event_each(
    app: Flask, db_session: Session, world: RetentionWorld
) -> None:
    slug = _slug(db_session, world)
    result = invoke(app, cli, "retention", "apply", "--team", slug, "--yes")
    assert result.exit_code == 0, result.output
    assert "Shredding" in result.stderr  # the progress bar, on stderr
    assert result.stdout.strip() == "shredded 8 (0 no longer due); 0 held records skipped"
    assert _planned(app, slug) == set()
    assert len(events(db_session, "retention.field_shred")) == 4
    erasures = events(db_session, "record.erase")
    assert len(erasures) == 4 and {e.actor for e in erasures} == {e.actor for e in erasures[:1]}
    result = invoke(app, cli, "retention", "apply", "--team", slug, "--yes")
    assert result.stdout.startswith(f"nothing due on {world.today.isoformat()}")


def test_a_killed_apply_resumes_with_what_is_still_due(
    app: Flask, db_session: Session, world: RetentionWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = _slug(db_session, world)
    shred = retention._shred_item
    done: list[tuple[str, str | None]] = []

    def killed_after_five(ctx: Context, item: retention.DueItem) -> None:
        shred(ctx, item)
        if len(done) == 5:  # the sixth shredded, not yet committed
            raise KeyboardInterrupt  # as Ctrl+C, or a kill, would stop it
        done.append((item.reference, item.field))

    monkeypatch.setattr(retention, "_shred_item", killed_after_five)
    result = invoke(app, cli, "retention", "apply", "--team", slug, "--yes")
    assert result.exit_code != 0
    # The five shreds before the kill were each committed; the sixth was rolled back.
    assert _planned(app, slug) == world.due() - set(done)
    monkeypatch.setattr(retention, "_shred_item", shred)
    result = invoke(app, cli, "retention", "apply", "--team", slug, "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"shredded {len(world.due()) - 5} ")
    assert _planned(app, slug) == set()
