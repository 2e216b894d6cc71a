"""Pages timed through the WSGI application, signed in, with the SQL statements each one
runs: what a researcher waits for, at each size of archive.

Each page is asked for once to warm up, then `repeat` times; its p50 and p95 are of
those runs, its statements counted (by a SQLAlchemy event on the engine) in the last.
The floor is an endpoint that returns a word, added to the same application: every
layer a page goes through (sessions, sign-in, CSRF, security headers) and nothing else.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from incidents.extensions import db
from incidents.models import Incident, Person, Team
from incidents.vault import FieldVault
from tests.benchmarks.cases import team_users
from tests.benchmarks.installation import Installation

FLOOR_PATH = "/benchmark-floor"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BIG_TEAM, SMALL_TEAM = "north-caucasus", "belarus-desk"
PAGES = (
    "floor",
    "incident_list",
    "report_list",
    "source_list",
    "filtered_list",
    "deep_page",
    "search_reference",
    "search_name",
    "incident_detail",
    "case_summary",
    "dashboard",
)


@dataclass(frozen=True)
class Timing:
    page: str
    team: str
    p50_ms: float
    p95_ms: float
    statements: int
    status: int


def add_floor(app: Flask) -> None:
    """The framework's floor, on the same stack as the pages: before any request."""
    app.add_url_rule(FLOOR_PATH, "benchmark_floor", lambda: "ok")


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[int]]:
    """A one-item list holding the number of statements run on the app's engine."""
    count = [0]

    def on_execute(*_args: Any) -> None:
        count[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def signed_in(installation: Installation, team: str) -> FlaskClient:
    """A client signed in through the login form as the team's researcher."""
    client = installation.app.test_client()
    email = team_users(team)["researcher"]
    answer = client.post(
        "/login",
        data={
            "email": email,
            "password": installation.password,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {email} failed: {answer.status_code}")
    return client


def csrf_token(client: FlaskClient, path: str) -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    if match is None:
        raise RuntimeError(f"no form with a CSRF token at {path}")
    return match.group(1)


@dataclass(frozen=True)
class Targets:
    """What the pages of one team are asked about: records that exist in it."""

    incident: str  # a reference in the middle of the team's list
    deep_cursor: str  # nine tenths down the list ordered by reference
    name: str  # a person's name as a researcher would type it


def targets(installation: Installation, team_slug: str) -> Targets:
    with installation.app.app_context():
        session = db.session
        team = session.scalars(select(Team).where(Team.slug == team_slug)).one()
        references = list(
            session.scalars(
                select(Incident.reference)
                .where(Incident.team_id == team.id)
                .order_by(Incident.reference)
            )
        )
        if not references:
            raise RuntimeError(f"the team {team_slug} has no incidents: import more reports")
        person = session.scalars(
            select(Person).where(Person.team_id == team.id).order_by(Person.reference).limit(1)
        ).one()
        vault = FieldVault(session, installation.app.extensions["incidents.keys"])
        name = vault.unseal(person, "full_name")["full_name"] or ""
        session.rollback()
    return Targets(references[len(references) // 2], references[len(references) * 9 // 10], name)


def requests_for(client: FlaskClient, target: Targets) -> dict[str, Callable[[], Any]]:
    """Each page as a call that asks for it once."""
    search_token = csrf_token(client, "/people")
    reference = target.incident
    return {
        "floor": lambda: client.get(FLOOR_PATH),
        "incident_list": lambda: client.get("/incidents"),
        "report_list": lambda: client.get("/reports"),
        "source_list": lambda: client.get("/sources"),
        "filtered_list": lambda: client.get(
            "/incidents?status=corroborated&violation_type=torture_or_ill_treatment"
        ),
        "deep_page": lambda: client.get(f"/incidents?after={target.deep_cursor}"),
        "search_reference": lambda: client.get(f"/incidents?reference={reference}"),
        "search_name": lambda: client.post(
            "/people", data={"q": target.name, "csrf_token": search_token}
        ),
        "incident_detail": lambda: client.get(f"/incidents/{reference}"),
        "case_summary": lambda: client.get(f"/incidents/{reference}/summary"),
        "dashboard": lambda: client.get("/dashboard"),
    }


def time_pages(
    installation: Installation,
    team: str,
    pages: tuple[str, ...] = PAGES,
    repeat: int = 10,
    progress: Callable[[str], None] | None = None,
) -> list[Timing]:
    """p50 and p95 of each page for the team's researcher, with its statements."""
    client = signed_in(installation, team)
    asks = requests_for(client, targets(installation, team))
    timings = []
    for page in pages:
        if progress is not None:
            progress(f"{page} ({team})")
        ask = asks[page]
        first = ask()  # warm: templates compiled, caches filled, as a running server has them
        if first.status_code >= 400:
            raise RuntimeError(f"{page} answered {first.status_code} for {team}'s researcher")
        seconds = []
        with counted_statements(installation.app) as statements:
            for _ in range(repeat):
                before = statements[0]
                started = time.perf_counter()
                ask()
                seconds.append(time.perf_counter() - started)
                last = statements[0] - before
        timings.append(
            Timing(page, team, *_percentiles(seconds), statements=last, status=first.status_code)
        )
    return timings


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    if len(seconds) == 1:
        return seconds[0] * 1000, seconds[0] * 1000
    cuts = statistics.quantiles(seconds, n=20, method="inclusive")
    return statistics.median(seconds) * 1000, cuts[18] * 1000
