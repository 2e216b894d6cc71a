"""Every list and detail page asks the database the same number of SQL statements however
many rows it shows (issue 10, item 7): the count with one related row of each kind equals
the count with many, on SQLite and PostgreSQL. Counts only, no timings.

A detail page that decrypts many records (an incident's acts, perpetrators and evidence
names; a person's or a source's consent conditions) opens them together: one query for
their data keys, one append of their audit events — still one `secret.decrypt` event per
record, which these tests count too.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import Person, Source, User
from incidents.models.incident import IncidentViolation
from incidents.models.vocabularies import ConsentUse, ViolationType
from incidents.services import person_merge
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.factories import (
    ActFactory,
    ConsentFactory,
    EvidenceFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
)
from tests.helpers import TEST_OPERATOR, Statements, context, count_events, count_statements
from tests.web.conftest import World

FEW, MANY = 1, 15
DECRYPT = AuditAction.SECRET_DECRYPT


def _counted(
    app: Flask, client: FlaskClient, url: str, method: str = "GET", **data: str
) -> tuple[Statements, str]:
    with count_statements(app) as statements:
        answer = client.open(url, method=method, data=data or None)
    assert answer.status_code == 200, answer.status_code
    return statements, answer.text


def _same_count(
    app: Flask,
    client: FlaskClient,
    url: str,
    grow: Callable[[int], object],
    *,
    shown: Callable[[int], str] | None = None,
    post: Callable[[], dict[str, str]] | None = None,
) -> str:
    """Grow the page's related rows to FEW, count; grow to MANY, count: the same. `shown`
    is what the page says of the n-th row, so that the many are really on the page."""
    grow(FEW)
    method, data = ("POST", post()) if post else ("GET", {})
    _counted(app, client, url, method, **data)  # one-off work of a first view aside
    few, _ = _counted(app, client, url, method, **data)
    grow(MANY)
    if post:
        data = post()
    many, page = _counted(app, client, url, method, **data)
    if shown is not None:
        missing = [n for n in range(MANY) if shown(n) not in page]
        assert not missing, f"rows {missing} are not on the page"
    assert many.count == few.count, (
        f"{few.count} statements with {FEW}, {many.count} with {MANY}\n{few!r}\n---\n{many!r}"
    )
    return page


def _grower(make: Callable[[int], object]) -> Callable[[int], None]:
    """grow(total): make rows numbered from the last made up to `total`."""
    made = [0]

    def grow(total: int) -> None:
        for n in range(made[0], total):
            make(n)
        made[0] = total

    return grow


@pytest.fixture
def log_in(signed_in: Callable[[str], User]) -> Callable[[str], User]:
    return signed_in


# -- detail pages ---------------------------------------------------------------------


def _incident_rows(world: World) -> Callable[[int], None]:
    """n-th: an act with a perpetrator, a report from its own source with an evidence
    file, and an official response that the report supports."""
    team = world.team.id

    def make(n: int) -> None:
        act = ActFactory(
            team_id=team, incident_id=world.incident.id, secrets={"notes": f"Notes-{n}-"}
        )
        InvolvementFactory(
            team_id=team,
            act_id=act.id,
            secrets={"perpetrator_names": f"Officer-{n}-", "units": f"Unit-{n}-"},
        )
        report = ReportFactory(
            team_id=team,
            incident_id=world.incident.id,
            source_id=SourceFactory(team_id=team).id,
            title=f"Report-{n}-",
        )
        EvidenceFactory(team_id=team, report_id=report.id, secrets={"filename": f"file-{n}-.jpg"})
        StateResponseFactory(
            team_id=team, incident_id=world.incident.id, supporting_report_id=report.id
        )

    return _grower(make)


def test_the_incident_page_decrypts_its_acts_perpetrators_and_files_in_bounded_sql(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    log_in: Callable[[str], User],
) -> None:
    # An erased report: its file's name cannot be opened any more, in both counts.
    erased = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    shredded = EvidenceFactory(team_id=world.team.id, report_id=erased.id)
    erase_record(context(db_session, app, TEST_OPERATOR), erased.reference, "consent_withdrawn")
    researcher = log_in("researcher")
    url = f"/incidents/{world.incident.reference}"
    grow = _incident_rows(world)
    _same_count(app, client, url, grow, shown=lambda n: f"Officer-{n}-")
    page = client.get(url).text
    assert all(
        f"Notes-{n}-" in page and f"Unit-{n}-" in page and f"file-{n}-.jpg" in page
        for n in range(MANY)
    )
    # Still one decryption event per record opened: the incident, 15 acts, 15
    # perpetrators, 15 file names.
    before = count_events(db_session, DECRYPT, actor=researcher.email)
    client.get(url)
    assert count_events(db_session, DECRYPT, actor=researcher.email) == before + 1 + 3 * MANY
    assert count_events(db_session, DECRYPT, target=shredded) == 0


@pytest.mark.parametrize("role", ["auditor", "advocacy_lead"])
def test_the_incident_page_is_bounded_for_those_who_see_no_secret(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    log_in: Callable[[str], User],
    role: str,
) -> None:
    # Erased with its person: an act the page marks and does not open, in both counts.
    erased = ActFactory(team_id=world.team.id, incident_id=world.incident.id)
    erase_record(
        context(db_session, app, TEST_OPERATOR), erased.person.reference, "consent_withdrawn"
    )
    reader = log_in(role)
    page = _same_count(app, client, f"/incidents/{world.incident.reference}", _incident_rows(world))
    assert "Officer-" not in page and "Notes-" not in page
    assert count_events(db_session, DECRYPT, actor=reader.email) == 0


def test_the_person_page_is_bounded_in_acts_consents_and_merges(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    log_in: Callable[[str], User],
) -> None:
    person: Person = PersonFactory(team_id=world.team.id, secrets={"full_name": "Movsar Demoev"})
    uses = list(ConsentUse)
    researcher = log_in("researcher")
    as_researcher = context(db_session, app, researcher)

    def make(n: int) -> None:
        incident = IncidentFactory(team_id=world.team.id, title=f"Incident-{n}-")
        ActFactory(team_id=world.team.id, person_id=person.id, incident_id=incident.id)
        ConsentFactory(
            team_id=world.team.id,
            person_id=person.id,
            use=uses[n % len(uses)],
            secrets={"notes": f"Only-{n}-"},
        )
        duplicate = PersonFactory(team_id=world.team.id)
        person_merge.merge(as_researcher, person.reference, duplicate.reference)

    url = f"/people/{person.reference}"
    page = _same_count(app, client, url, _grower(make), shown=lambda n: f"Only-{n}-")
    assert "Movsar Demoev" in page
    before = count_events(db_session, DECRYPT, actor=researcher.email)
    client.get(url)
    # The person, and the consents' conditions in one event for them all (as before).
    assert count_events(db_session, DECRYPT, actor=researcher.email) == before + 2


def test_the_report_page_is_bounded_in_its_sources_reports_and_files(
    app: Flask, client: FlaskClient, world: World, log_in: Callable[[str], User]
) -> None:
    source = SourceFactory(team_id=world.team.id)
    report = ReportFactory(
        team_id=world.team.id, source_id=source.id, incident_id=world.incident.id
    )

    def make(n: int) -> None:
        ReportFactory(team_id=world.team.id, source_id=source.id, incident_id=world.incident.id)
        EvidenceFactory(team_id=world.team.id, report_id=report.id)
        ActFactory(team_id=world.team.id, incident_id=world.incident.id)

    log_in("researcher")
    _same_count(app, client, f"/reports/{report.reference}", _grower(make))


def test_the_source_page_is_bounded_in_its_reports_and_consents(
    app: Flask, client: FlaskClient, world: World, log_in: Callable[[str], User]
) -> None:
    source: Source = SourceFactory(team_id=world.team.id)
    uses = list(ConsentUse)

    def make(n: int) -> None:
        incident = IncidentFactory(team_id=world.team.id)
        ReportFactory(
            team_id=world.team.id,
            source_id=source.id,
            incident_id=incident.id,
            title=f"Report-{n}-",
        )
        ConsentFactory(
            team_id=world.team.id,
            source_id=source.id,
            person_id=None,
            use=uses[n % len(uses)],
            secrets={"notes": f"Only-{n}-"},
        )

    log_in("researcher")
    _same_count(
        app, client, f"/sources/{source.reference}", _grower(make), shown=lambda n: f"Only-{n}-"
    )


# -- lists ----------------------------------------------------------------------------


def test_the_incident_list_is_bounded(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    log_in: Callable[[str], User],
) -> None:
    def make(n: int) -> None:
        incident = IncidentFactory(team_id=world.team.id, title=f"Listed-{n}-")
        incident.violations.append(IncidentViolation(violation_type=ViolationType.TORTURE))
        ActFactory(team_id=world.team.id, incident_id=incident.id)
        if n % 5 == 0:  # erased ones are marked on the list: one more lookup, not one each
            erase_record(
                context(db_session, app, TEST_OPERATOR), incident.reference, "consent_withdrawn"
            )

    log_in("researcher")
    _same_count(app, client, "/incidents", _grower(make))


def test_the_report_list_is_bounded(
    app: Flask, client: FlaskClient, world: World, log_in: Callable[[str], User]
) -> None:
    def make(n: int) -> None:
        incident = IncidentFactory(team_id=world.team.id)
        source = SourceFactory(team_id=world.team.id)
        ReportFactory(
            team_id=world.team.id,
            source_id=source.id,
            incident_id=incident.id,
            title=f"Listed-{n}-",
        )

    log_in("researcher")
    _same_count(app, client, "/reports", _grower(make), shown=lambda n: f"Listed-{n}-")


def test_the_source_list_is_bounded(
    app: Flask, client: FlaskClient, world: World, log_in: Callable[[str], User]
) -> None:
    def make(n: int) -> None:
        source = SourceFactory(team_id=world.team.id)
        for _ in range(2):
            ReportFactory(team_id=world.team.id, source_id=source.id)

    log_in("researcher")
    _same_count(app, client, "/sources", _grower(make))


def test_the_people_search_is_bounded_in_the_people_it_finds(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    world: World,
    log_in: Callable[[str], User],
) -> None:
    found: list[Person] = []

    def make(n: int) -> None:
        found.append(
            PersonFactory(
                team_id=world.team.id,
                secrets={"full_name": "Akhmed Umarov", "aliases": f"Alias-{n}-"},
            )
        )

    researcher = log_in("researcher")
    post = lambda: {"q": "Akhmed Umarov", "csrf_token": csrf_token(client, "/people")}  # noqa: E731
    before = count_events(db_session, DECRYPT, actor=researcher.email)
    page = _same_count(app, client, "/people", _grower(make), post=post)
    assert all(person.reference in page for person in found)
    # Each candidate decrypted has its event, as before: 1 + 1 (the first views), then 15.
    assert count_events(db_session, DECRYPT, actor=researcher.email) == before + 2 * FEW + MANY


def test_the_triage_queue_is_bounded(
    app: Flask, client: FlaskClient, world: World, log_in: Callable[[str], User]
) -> None:
    def make(n: int) -> None:
        source = SourceFactory(team_id=world.team.id)
        ReportFactory(
            team_id=world.team.id,
            source_id=source.id,
            incident_id=world.incident.id,
            title=f"New-{n}-",
        )

    log_in("researcher")
    _same_count(app, client, "/triage", _grower(make), shown=lambda n: f"New-{n}-")
