"""`incidents demo`: seeds the 2017 case once, prints working credentials, and reseeds cleanly.

The command runs in a subprocess, as a newcomer would run it; the content of the seed is
checked in-process through `demo.seed` on both backends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, table
from sqlalchemy.orm import Session

from incidents import create_app
from incidents.context import Context
from incidents.extensions import db, make_engine
from incidents.models import (
    ActionLink,
    AdvocacyAction,
    Campaign,
    Incident,
    Person,
    Report,
    StateResponse,
    Team,
)
from incidents.models.vocabularies import (
    ActionKind,
    ResponseKind,
    Role,
    StateResponseKind,
    label,
)
from incidents.services import accounts, demo
from incidents.services.authentication import authenticate
from incidents.vault import FieldVault
from tests import helpers
from tests.conftest import PostgresDatabase, skip_without_postgres

ROLES = [role.value for role in Role]
# Tables whose rows a second run may add to: every run writes audit events (password
# resets), and reference counters are bookkeeping.
GROWING_TABLES = {"audit_events", "reference_counters"}
# "  advocacy lead  login: advocacy@demo.example.org  password: …": the role as pages name it
CREDENTIAL_LINE = re.compile(
    r"^  (?P<role>\S(?:.*\S)?)\s+login: (?P<login>\S+)\s+password: (?P<password>\S+)$"
)
ROLE_OF_LABEL = {label(role): role.value for role in Role}
# The demo file (incidents/demo/chechnya-2017.toml) names the team the demo users work in
# and, apart from it, the team of the other region.
CASE = demo.load_case()
DEMO_TEAM = CASE["team"]
(OTHER_TEAM,) = [team["slug"] for team in CASE["teams"] if team["slug"] != DEMO_TEAM]


# -- helpers ----------------------------------------------------------------------------


def _environment(instance: Path, database_url: str | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    environment["INCIDENTS_INSTANCE_PATH"] = str(instance)
    if database_url is not None:
        environment["INCIDENTS_DATABASE_URL"] = database_url
    return environment


def run_incidents(
    workdir: Path, *arguments: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `incidents` console script in `workdir` with the instance folder in it."""
    script = Path(sys.executable).with_name("incidents")
    assert script.exists(), f"console script not found next to {sys.executable}"
    result = subprocess.run(
        [str(script), *arguments],
        cwd=workdir,
        env=_environment(workdir / "instance", database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"`incidents {' '.join(arguments)}` exited {result.returncode}:\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result


def credentials(output: str) -> dict[str, tuple[str, str]]:
    """role -> (login, password) from the demo's output; exactly one line per role, each
    naming the role as the pages do."""
    lines = [line for line in output.splitlines() if "login: " in line]
    found: dict[str, tuple[str, str]] = {}
    for line in lines:
        match = CREDENTIAL_LINE.search(line)
        assert match, f"credential line without a role, login: and password: {line!r}"
        assert match["role"] in ROLE_OF_LABEL, f"{match['role']!r} is not a role's label"
        role = ROLE_OF_LABEL[match["role"]]
        assert role not in found, f"role {role} printed twice:\n{output}"
        found[role] = (match["login"], match["password"])
    assert sorted(found) == sorted(ROLES), f"expected one line per role {ROLES}:\n{output}"
    assert len(lines) == len(ROLES)
    return found


def row_counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        names = sorted(inspect(engine).get_table_names())
        with engine.connect() as connection:
            return {
                name: connection.scalar(select(func.count()).select_from(table(name))) or 0
                for name in names
            }
    finally:
        engine.dispose()


def incident_references(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(connection.scalars(select(Incident.reference)))
    finally:
        engine.dispose()


def stable(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name not in GROWING_TABLES}


def logins(instance: Path, database_url: str, pairs: dict[str, tuple[str, str]]) -> dict[str, bool]:
    """Which of the printed (login, password) pairs authenticate against the database."""
    app = create_app(
        {"env": "development", "instance_path": str(instance), "database_url": database_url}
    )
    try:
        with app.app_context():
            nobody = helpers.context(db.session, app, None)  # a login is made by nobody yet
            return {
                role: authenticate(nobody, login, password) is not None
                for role, (login, password) in pairs.items()
            }
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def postgres_database() -> Iterator[PostgresDatabase]:
    skip_without_postgres()
    database = PostgresDatabase("demo")
    try:
        yield database
    finally:
        database.drop()


# -- the command ------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_twice_then_reset_on_sqlite(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    url = f"sqlite:///{instance / 'incidents.db'}"

    first = run_incidents(tmp_path, "demo", "--no-serve")
    assert "Demo case: seeded." in first.stdout
    first_credentials = credentials(first.stdout)
    assert "  advocacy lead  login: " in first.stdout  # as the pages name the role
    assert "log in without a second factor" in first.stdout
    # Every development key is made at the start, the audit signing key included (not on
    # the first audit page), and each is named.
    for name in ("master.key", "secret_key", "audit-signing.key"):
        assert (instance / name).is_file(), name
        assert f"  {instance / name}\n" in first.stdout
    assert "DEVELOPMENT audit signing key" in first.stderr
    after_first = row_counts(url)
    assert after_first["incidents"] == 3
    assert after_first["users"] == len(ROLES)

    second = run_incidents(tmp_path, "demo", "--no-serve")
    assert "already present" in second.stdout
    second_credentials = credentials(second.stdout)
    after_second = row_counts(url)
    assert stable(after_second) == stable(after_first), "a second demo run changed the data"
    assert after_second["audit_events"] > after_first["audit_events"], "no password reset audited"

    assert {r: login for r, (login, _) in second_credentials.items()} == {
        r: login for r, (login, _) in first_credentials.items()
    }
    assert logins(instance, url, second_credentials) == dict.fromkeys(ROLES, True)
    # Passwords are new on every run: the first run's no longer open the accounts.
    assert logins(instance, url, first_credentials) == dict.fromkeys(ROLES, False)

    reset = run_incidents(tmp_path, "demo", "--no-serve", "--reset")
    assert "Demo case: seeded." in reset.stdout
    reset_credentials = credentials(reset.stdout)
    after_reset = row_counts(url)
    assert stable(after_reset) == stable(after_first), "--reset did not reseed the same content"
    assert incident_references(url) == ["INC-2017-0001", "INC-2017-0002", "INC-2018-0001"]
    assert logins(instance, url, reset_credentials) == dict.fromkeys(ROLES, True)


@pytest.mark.slow
@pytest.mark.postgres
def test_demo_twice_on_postgresql_makes_no_duplicates(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    url = postgres_database.url
    first = run_incidents(tmp_path, "demo", "--no-serve", database_url=url)
    assert "Demo case: seeded." in first.stdout
    credentials(first.stdout)
    after_first = row_counts(url)

    second = run_incidents(tmp_path, "demo", "--no-serve", database_url=url)
    assert "already present" in second.stdout
    second_credentials = credentials(second.stdout)
    after_second = row_counts(url)

    assert after_first["incidents"] == 3
    assert after_first["teams"] == 2
    assert stable(after_second) == stable(after_first), "a second demo run changed the data"
    assert not (tmp_path / "instance" / "incidents.db").exists(), "SQLite used instead"
    assert logins(tmp_path / "instance", url, second_credentials) == dict.fromkeys(ROLES, True)


# -- the content, in-process on both backends -------------------------------------------


@pytest.fixture
def seed(db_session: Session, ctx: Context) -> Callable[[], demo.SeedOutcome]:
    """Run `demo.seed` in the test's session as the operator, as the CLI does (without the
    commit)."""

    def run() -> demo.SeedOutcome:
        outcome = demo.seed(ctx)
        db_session.flush()
        return outcome

    return run


def _incident(session: Session, reference: str) -> Incident:
    found = session.scalars(select(Incident).where(Incident.reference == reference)).one_or_none()
    assert found is not None, f"the demo has no incident {reference}"
    return found


def test_seed_builds_the_demo_case(
    db_session: Session, ctx: Context, seed: Callable[[], demo.SeedOutcome]
) -> None:
    outcome = seed()
    assert outcome.seeded

    team = accounts.team_by_slug(ctx, DEMO_TEAM)
    assert team is not None
    crackdown = _incident(db_session, "INC-2017-0001")
    checkpoint = _incident(db_session, "INC-2017-0002")
    elsewhere = _incident(db_session, "INC-2018-0001")
    assert crackdown.team_id == team.id
    assert checkpoint.team_id == team.id
    assert elsewhere.team_id != team.id
    other_team = db_session.get(Team, elsewhere.team_id)
    assert other_team is not None and other_team.slug == OTHER_TEAM

    responses = db_session.scalars(
        select(StateResponse).where(StateResponse.incident_id == crackdown.id)
    ).all()
    assert {r.kind for r in responses} >= {
        StateResponseKind.DENIAL,
        StateResponseKind.INVESTIGATION_OPENED,
    }


def test_seed_builds_the_day_of_action(
    db_session: Session, ctx: Context, seed: Callable[[], demo.SeedOutcome]
) -> None:
    seed()
    team = accounts.team_by_slug(ctx, DEMO_TEAM)
    assert team is not None
    actions = db_session.scalars(
        select(AdvocacyAction).where(AdvocacyAction.team_id == team.id)
    ).all()

    petitions = [a for a in actions if a.kind is ActionKind.PETITION]
    assert len(petitions) == 1
    assert petitions[0].signatures == 177000

    protests = [a for a in actions if a.kind is ActionKind.PROTEST]
    places = sorted((p.places or "").lower() for p in protests)
    other_countries = {
        "Canada",
        "Finland",
        "Italy",
        "the Netherlands",
        "Norway",
        "Spain",
        "Sweden",
        "Ukraine",
    }
    expected = sorted(
        ["london, united kingdom", "edinburgh, united kingdom"]
        + [country.lower() for country in other_countries]
    )
    assert places == expected, "one protest in London, one in Edinburgh, one per country"

    campaigns = {a.campaign_id for a in [*protests, *petitions]}
    assert len(campaigns) == 1 and None not in campaigns, "all under one campaign"
    campaign = db_session.get(Campaign, campaigns.pop())
    assert campaign is not None
    assert campaign.start_date == date(2017, 6, 2)
    assert {a.start_date for a in [*protests, *petitions]} == {date(2017, 6, 2)}


def test_seed_links_actions_to_reports_of_the_team(
    db_session: Session, ctx: Context, seed: Callable[[], demo.SeedOutcome]
) -> None:
    seed()
    team = accounts.team_by_slug(ctx, DEMO_TEAM)
    assert team is not None
    links = db_session.scalars(
        select(ActionLink)
        .join(AdvocacyAction, ActionLink.action_id == AdvocacyAction.id)
        .where(AdvocacyAction.team_id == team.id)
    ).all()
    assert len(links) >= 5
    petition = db_session.scalars(
        select(AdvocacyAction).where(
            AdvocacyAction.team_id == team.id, AdvocacyAction.kind == ActionKind.PETITION
        )
    ).one()
    assert any(link.action_id == petition.id for link in links)
    for link in links:
        report = db_session.get(Report, link.report_id)
        assert report is not None
        assert report.team_id == team.id, "an action of the team links another team's report"
        assert report.incident_id is not None


def test_seed_tells_the_petition_story_and_shows_a_refused_link(
    db_session: Session, ctx: Context, seed: Callable[[], demo.SeedOutcome]
) -> None:
    outcome = seed()
    team = accounts.team_by_slug(ctx, DEMO_TEAM)
    assert team is not None
    actions = {
        a.kind: a
        for a in db_session.scalars(
            select(AdvocacyAction).where(AdvocacyAction.team_id == team.id)
        ).all()
        if a.kind is not ActionKind.PROTEST
    }
    petition = actions[ActionKind.PETITION]
    assert [r.kind for r in petition.responses] == [
        ResponseKind.DENIAL,
        ResponseKind.PLEDGED_COMMITMENT,
    ]
    assert "preliminary investigation" in petition.responses[1].text
    (follow_up,) = petition.follow_ups
    assert follow_up.done_at is None, "the follow-up is still open"
    assert "full criminal investigation" in follow_up.description
    lead = accounts.find_user_by_email(ctx, f"advocacy@{demo.DEMO_DOMAIN}")
    assert lead is not None and follow_up.assignee_id == lead.id

    submission = actions[ActionKind.UN_SUBMISSION]
    assert len(submission.links) == 1, "one report may go to the UN, the other is refused"
    (refusal,) = outcome.refused_links
    assert "cannot support" in refusal and "transfer to UN bodies or courts" in refusal
    assert "its source" in refusal


def test_seed_encrypts_person_secrets(
    db_session: Session, ctx: Context, seed: Callable[[], demo.SeedOutcome], vault: FieldVault
) -> None:
    seed()
    team = accounts.team_by_slug(ctx, DEMO_TEAM)
    assert team is not None
    people = db_session.scalars(select(Person).where(Person.team_id == team.id)).all()
    assert len(people) == 3
    names = set()
    for person in people:
        plain = vault.unseal(person)
        assert plain["full_name"] and plain["full_name"].endswith("(fictional)")
        assert plain["date_of_birth"] and plain["contact"] and plain["aliases"]
        for field, value in plain.items():
            stored = getattr(person, field)
            assert isinstance(stored, bytes)
            assert value is not None and value.encode("utf-8") not in stored, field
        names.add(plain["full_name"])
    assert "Movsar Demoev (fictional)" in names


def test_seed_twice_keeps_the_case_and_resets_passwords(
    db_session: Session, context_for: Callable[..., Context], seed: Callable[[], demo.SeedOutcome]
) -> None:
    nobody = context_for(None)
    first = seed()
    incidents_after_first = db_session.scalar(select(func.count()).select_from(Incident))
    second = seed()
    assert first.seeded and not second.seeded
    assert db_session.scalar(select(func.count()).select_from(Incident)) == incidents_after_first

    assert [c.role for c in second.credentials] == ROLES
    for old, new in zip(first.credentials, second.credentials, strict=True):
        assert old.email == new.email and old.password != new.password
        user = authenticate(nobody, new.email, new.password)
        assert user is not None, f"printed password of {new.role} does not log in"
        assert user.role_set == {Role(new.role)}
        teams = {m.team.slug for m in user.memberships}
        assert teams == (set() if new.role == Role.ADMIN else {DEMO_TEAM})
        assert authenticate(nobody, old.email, old.password) is None
