"""A file of new records is written in batches — a fixed number of statements for many
rows, no savepoint a row, the audit events appended together yet one per record, links
to records of the same batch found — and a file the first pass cannot write whole is
written again row by row, so that what it names and what it leaves are those of
writing each row on its own."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.extensions import db
from incidents.models import Incident, Report, Source, Team, User
from incidents.models.vocabularies import Role
from incidents.services import import_run, imports
from tests.factories import TeamFactory, UserFactory
from tests.helpers import count_events, events

Build = Callable[..., Context]
ROWS = 40


@pytest.fixture
def researcher(db_session: Session) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[TeamFactory(slug="north")])


def _json(records: dict[str, list[dict[str, Any]]]) -> io.BytesIO:
    body = {"format": "incidents-records/1", "records": records}
    return io.BytesIO(json.dumps(body).encode())


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _file(rows: int) -> dict[str, list[dict[str, Any]]]:
    """`rows` incidents, a source and a report of each, linked by other tools' ids."""
    return {
        "incident": [
            {"id": f"case-{n}", "team": "north", "title": f"Detention {n}", "start_date": "2016"}
            for n in range(rows)
        ],
        "source": [
            {"id": f"src-{n}", "team": "north", "kind": "witness", "identity": f"W{n}"}
            for n in range(rows)
        ],
        "report": [
            {
                "id": f"rpt-{n}",
                "team": "north",
                "title": f"Account {n}",
                "incident": f"case-{n}",
                "source": f"src-{n}",
                "received_on": "2016-06-01",
                "channel": "interview",
                "narrative": f"What witness {n} saw",
            }
            for n in range(rows)
        ],
    }


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """(first pass?, written whole?) of each pass an import makes, as it makes them."""
    made: list[tuple[bool, bool]] = []
    attempt = import_run._attempt

    def spied(*args: Any, fast: bool) -> bool:
        made.append((fast, attempt(*args, fast=fast)))
        return made[-1][1]

    monkeypatch.setattr(import_run, "_attempt", spied)
    return made


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """Every statement the engine runs inside the block, savepoints included."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_new_records_are_written_in_a_fixed_number_of_statements(
    app: Flask,
    db_session: Session,
    context_for: Build,
    researcher: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = context_for(researcher)
    passes = _passes(monkeypatch)
    with _statements(app) as seen:
        outcome = imports.plan_import(ctx, _json(_file(ROWS)))
    assert outcome.imported, outcome.errors
    assert passes == [(True, True)]
    assert {k: c.created for k, c in outcome.per_kind()} == {
        "incident": ROWS,
        "source": ROWS,
        "report": ROWS,
    }
    # Row by row this was about ten statements a row (1,200); in batches it is a few a
    # kind, however many rows: the inserts, the counters, the audit log's append.
    assert len(seen) <= 40, "\n".join(seen)
    assert sum(s.startswith("SAVEPOINT") for s in seen) <= 6
    # Every record has its own event, naming it, in the order of the file's rows.
    created = events(db_session, "record.create")
    incidents = db_session.scalars(select(Incident).order_by(Incident.reference)).all()
    assert [e.target_id for e in created[:ROWS]] == [str(i.id) for i in incidents]
    assert len(created) == 3 * ROWS
    reports = db_session.scalars(select(Report)).all()
    assert {r.incident_id for r in reports} == {i.id for i in incidents}


def test_incidents_with_violation_types_go_across_a_batch_boundary(
    db_session: Session, context_for: Build, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Letting a batch go expunges each incident, which takes its violation types along;
    # they must not be let go a second time (that raised, after the first batch).
    monkeypatch.setattr(import_run, "BATCH", 3)
    records = _file(7)
    for row in records["incident"]:
        row["violation_types"] = ["arbitrary_detention", "torture_or_ill_treatment"]
    outcome = imports.plan_import(context_for(researcher), _json(records))
    assert outcome.imported, outcome.errors
    incidents = db_session.scalars(select(Incident)).all()
    assert len(incidents) == 7
    assert all(
        sorted(i.violation_types) == ["arbitrary_detention", "torture_or_ill_treatment"]
        for i in incidents
    )


def test_a_clash_only_the_database_sees_is_named_as_row_by_row(
    db_session: Session,
    context_for: Build,
    researcher: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first incident is given INC-2016-0001 by its counter and flushed before the
    # second keeps it: the first pass takes it for free, the database refuses it, and
    # the file is written again row by row, which names the row.
    monkeypatch.setattr(import_run, "BATCH", 1)
    passes = _passes(monkeypatch)
    before = (_count(db_session, Incident), count_events(db_session))
    rows = [
        {"team": "north", "title": "Given a reference", "start_date": "2016"},
        {
            "id": "kept",
            "team": "north",
            "title": "Keeping one",
            "start_date": "2016",
            "reference": "INC-2016-0001",
        },
    ]
    done: list[int] = []
    outcome = imports.plan_import(
        context_for(researcher), _json({"incident": rows}), progress=done.append
    )
    (error,) = outcome.errors
    assert (error.kind, error.row, error.field) == ("incident", 2, "reference")
    assert "INC-2016-0001 is the reference of another incident" in error.message
    assert (_count(db_session, Incident), count_events(db_session)) == before
    assert sum(done) == 2  # each row told once, though written twice
    assert passes == [(True, False), (False, True)]


def test_a_bad_row_after_many_good_ones_changes_nothing_and_counts_rows_once(
    db_session: Session,
    context_for: Build,
    researcher: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(import_run, "BATCH", 2)
    records = _file(3)
    records["report"][2]["received_on"] = "2/6/16"
    before = (_count(db_session, Source), count_events(db_session))
    done: list[int] = []
    outcome = imports.plan_import(context_for(researcher), _json(records), progress=done.append)
    (error,) = outcome.errors
    assert (error.kind, error.row, error.field) == ("report", 3, "received_on")
    assert outcome.count("incident").created == 3 and outcome.count("report").failed == 1
    assert (_count(db_session, Source), count_events(db_session)) == before
    assert done == [2, 2, 2, 2, 1]


def test_a_batch_finds_records_it_has_not_flushed_by_reference_and_by_id(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    records = _file(2)
    records["report"][0]["incident"] = "INC-2016-0007"
    records["incident"][0]["reference"] = "INC-2016-0007"
    outcome = imports.plan_import(context_for(researcher), _json(records))
    assert outcome.imported, outcome.errors
    kept = db_session.scalars(select(Incident).where(Incident.reference == "INC-2016-0007")).one()
    report = db_session.scalars(select(Report).where(Report.title == "Account 0")).one()
    assert report.incident_id == kept.id
    team = db_session.scalars(select(Team).where(Team.slug == "north")).one()
    assert {i.team_id for i in db_session.scalars(select(Incident))} == {team.id}


def test_references_taken_in_blocks_leave_no_gap(
    db_session: Session, context_for: Build, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_run, "BATCH", 2)  # blocks are taken and given back per batch
    ctx = context_for(researcher)
    rows = [{"team": "north", "title": f"Untold {n}", "start_date": "2016"} for n in range(5)]
    assert imports.plan_import(ctx, _json({"incident": rows})).imported
    later = [{"team": "north", "title": "Later", "start_date": "2016"}]
    assert imports.plan_import(ctx, _json({"incident": later})).imported
    references = db_session.scalars(select(Incident.reference).order_by(Incident.reference))
    assert list(references) == [f"INC-2016-{n:04d}" for n in range(1, 7)]
