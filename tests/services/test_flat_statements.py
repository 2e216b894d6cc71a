"""Pages whose cost once grew with the database ask it a fixed number of statements and,
on SQLite's query plan, read through an index that starts from what they are about: the
audit log filtered by record or by actor, a small team's incident list, a people search
(however many candidates it decrypts) and a full export (however many records it opens).

Each test counts the statements at two sizes, FEW and MANY, on SQLite and PostgreSQL;
no timings (tests/benchmarks has those).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.filters import WHOLE_LOG, AuditScope, EventFilter
from incidents.audit.log import Actor, NewEvent, record_events
from incidents.context import Context
from incidents.models import AuditEvent, Incident, Team
from incidents.models.vocabularies import IncidentStatus, Role
from incidents.redaction import Profile
from incidents.repositories import audit as audit_queries
from incidents.repositories import incidents as incident_queries
from incidents.repositories.incidents import IncidentQuery
from incidents.services import auditor, person_matching
from incidents.services.export import start_export, write_export
from incidents.services.incidents import list_incidents
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    EvidenceFactory,
    FollowUpFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_events, count_statements

FEW, MANY = 5, 50
ContextFor = Callable[..., Context]


@contextmanager
def query_plans(session: Session) -> Iterator[list[str]]:
    """The lines of the query plans of every query run in the block: SQLite's EXPLAIN
    QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans priced out, since a small test
    table is read whole at any cost — a Seq Scan left means no index serves the query.
    Which index PostgreSQL picks among those that do depends on the statistics earlier
    tests left, so only SQLite's plans are held to a named index (`names_index`)."""
    connection = session.connection()
    ran: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            ran.append((statement, parameters))

    lines: list[str] = []
    event.listen(connection, "before_cursor_execute", before)
    try:
        yield lines
    finally:
        event.remove(connection, "before_cursor_execute", before)
    sqlite = connection.dialect.name == "sqlite"
    if not sqlite:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    for statement, parameters in ran:
        explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
        plan = connection.exec_driver_sql(f"{explain} {statement}", parameters)
        lines += [str(row[-1]).strip() for row in plan]
    if not sqlite:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")


def names_index(session: Session) -> bool:
    """Whether the plans of `query_plans` are held to a named index (SQLite's, whose
    planner has no statistics to change its mind with)."""
    return session.get_bind().dialect.name == "sqlite"


def _scans(lines: Sequence[str], table: str) -> list[str]:
    """Plan lines that read the table whole, or walk an index of it from one end, rather
    than seek to the rows of the page's key: SQLite's SCAN, PostgreSQL's Seq Scan."""
    return [
        line for line in lines if line.startswith(f"SCAN {table}") or f"Seq Scan on {table}" in line
    ]


def _seeks(lines: Sequence[str], index: str, column: str) -> bool:
    """Whether a plan seeks by `column` in `index` (`index` a prefix of the index's name on
    SQLite, which ends every index with the rowid, so that the single-column index of a
    column serves a keyset on (column, id) as well) and pages on the position there."""
    sqlite = re.compile(rf"USING (COVERING )?INDEX {index}\w* \({column}=\? AND (row)?id<\?\)")
    return any(sqlite.search(line) or f"Backward using {index}" in line for line in lines)


# -- the audit log filtered by record or by actor ------------------------------------------


def _log(session: Session, actor: str, target: Any, count: int) -> None:
    events = [NewEvent(AuditAction.SECRET_DECRYPT, target, ["narrative"]) for _ in range(count)]
    record_events(session, Actor(actor), events)


def _noise(session: Session, count: int) -> None:
    """Events of other actors about another record: what a filter must not read through."""
    other = IncidentFactory()
    for n in range(0, count, 10):
        _log(session, f"someone-{n % 3}@example.org", other, 10)


def _newest(session: Session, wanted: Callable[[AuditEvent], bool], limit: int) -> list[int]:
    """What a page must show, found the slow way: every event, filtered here."""
    every = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()
    return [e.id for e in every if wanted(e)][:limit]


def test_an_audit_page_by_record_reads_one_statement_through_the_record_indexes(
    app: Flask, ctx: Context, db_session: Session
) -> None:
    incident = IncidentFactory()
    pages, own = [], []
    for size in (FEW, MANY):
        _noise(db_session, 10 * size)
        _log(db_session, "reader@example.org", incident, size)
        auditor.event_page(ctx, EventFilter())  # queued events join the tree first
        for record in (incident.reference, str(incident.id)):
            with count_statements(app) as seen:
                page = auditor.event_page(ctx, EventFilter(record=record), limit=FEW)
            pages.append(seen.count)
            expected = _newest(db_session, lambda e: e.target_id == str(incident.id), FEW + 1)
            assert [e.id for e in page.events] == expected[:FEW]
            assert page.next_before == expected[FEW - 1]
            with count_statements(app) as seen:
                audit_queries.event_page(db_session, WHOLE_LOG, EventFilter(record=record), None, 9)
            own.append(seen.count)
    assert len(set(pages)) == 1, pages
    assert own == [1, 1, 1, 1], own
    with query_plans(db_session) as plans:
        audit_queries.event_page(
            db_session,
            AuditScope(teams=frozenset({incident.team_id})),
            EventFilter(record=incident.reference),
            10**9,
            11,
        )
    if names_index(db_session):
        assert _seeks(plans, "ix_audit_events_target_id", "target_id"), plans
        assert _seeks(plans, "ix_audit_events_target_ref_id", "target_ref"), plans
    assert not _scans(plans, "audit_events"), plans


def test_an_audit_page_by_actor_reads_two_statements_through_the_label_index(
    app: Flask, ctx: Context, db_session: Session
) -> None:
    incident = IncidentFactory()
    pages, own = [], []
    for size in (FEW, MANY):
        _noise(db_session, 10 * size)
        _log(db_session, "Alice.Researcher@example.org", incident, size)
        _log(db_session, "cli:alice", incident, 1)
        auditor.event_page(ctx, EventFilter())  # queued events join the tree first
        with count_statements(app) as seen:
            page = auditor.event_page(ctx, EventFilter(actor="ALICE"), limit=FEW)
        pages.append(seen.count)
        expected = _newest(db_session, lambda e: "alice" in e.actor.lower(), FEW + 1)
        assert [e.id for e in page.events] == expected[:FEW]
        cursor = page.next_before or 0
        deeper = auditor.event_page(ctx, EventFilter(actor="alice"), cursor, FEW)
        assert [e.id for e in deeper.events] == _newest(
            db_session, lambda e, cursor=cursor: "alice" in e.actor.lower() and e.id < cursor, FEW
        )
        with count_statements(app) as seen:
            audit_queries.event_page(db_session, WHOLE_LOG, EventFilter(actor="alice"), None, 9)
        own.append(seen.count)
    assert len(set(pages)) == 1, pages
    # The labels containing the words, then the page: a scan of each label's events.
    assert own == [2, 2], own
    assert audit_queries.actor_labels(db_session, "ALICE.r") == ["Alice.Researcher@example.org"]
    nobody = auditor.event_page(ctx, EventFilter(actor="nobody-at-all"))
    assert nobody.events == () and nobody.next_before is None
    with query_plans(db_session) as plans:
        audit_queries.event_page(db_session, WHOLE_LOG, EventFilter(actor="alice"), 10**9, 11)
    if names_index(db_session):
        assert _seeks(plans, "ix_audit_events_actor_label_id", "actor"), plans
    assert not _scans(plans, "audit_events"), plans


def test_an_actor_filter_matching_many_labels_still_finds_the_newest_events(
    ctx: Context, db_session: Session
) -> None:
    incident = IncidentFactory()
    for n in range(audit_queries.MAX_KEYED_SCANS + 5):
        _log(db_session, f"member-{n}@example.org", incident, 2)
    page = auditor.event_page(ctx, EventFilter(actor="member-", action="secret."), limit=7)
    assert [e.id for e in page.events] == _newest(
        db_session, lambda e: "member-" in e.actor and e.action == "secret.decrypt", 7
    )
    both = auditor.event_page(ctx, EventFilter(actor="member-1", record=incident.reference))
    assert [e.id for e in both.events] == _newest(
        db_session, lambda e: "member-1" in e.actor and e.target_id == str(incident.id), 50
    )


# -- a small team's incident list ----------------------------------------------------------


def test_a_small_teams_incident_list_reads_its_own_rows_in_fixed_statements(
    app: Flask, db_session: Session, context_for: ContextFor
) -> None:
    small, large = TeamFactory(), TeamFactory()
    own = sorted(IncidentFactory(team_id=small.id).reference for _ in range(3))
    researcher = UserFactory(role=Role.RESEARCHER, teams=[small])
    counts = []
    for size in (FEW, MANY):
        while _incidents(db_session, large) < size:
            IncidentFactory(team_id=large.id)
        with count_statements(app) as seen:
            page = list_incidents(context_for(researcher), limit=2)
        counts.append(seen.count)
        assert [row.reference for row in page.incidents] == own[:2]
        with count_statements(app) as seen:
            rest = list_incidents(context_for(researcher), page.next_after, limit=2)
        counts.append(seen.count)  # a deeper page: the same statements as the first
        assert [row.reference for row in rest.incidents] == own[2:]
        assert rest.next_after is None
    assert len(set(counts)) == 1, counts
    with query_plans(db_session) as plans:
        incident_queries.incident_page(db_session, {small.id}, own[0], 51)
    if names_index(db_session):
        assert any("ix_incidents_team_id_reference" in line for line in plans), plans
    assert not _scans(plans, "incidents"), plans


def _incidents(session: Session, team: Team) -> int:
    return len(session.scalars(select(Incident.id).where(Incident.team_id == team.id)).all())


def test_a_list_of_several_teams_pages_by_reference_with_its_filters(
    db_session: Session,
) -> None:
    teams = [TeamFactory() for _ in range(3)]
    made = [IncidentFactory(team_id=teams[n % 3].id) for n in range(12)]
    for incident in made[::4]:
        incident.status = IncidentStatus.VERIFIED
    db_session.flush()
    mine = {teams[0].id, teams[1].id}
    wanted = sorted(i.reference for i in made if i.team_id in mine)
    seen: list[str] = []
    after = None
    while page := incident_queries.incident_page(db_session, mine, after, 3):
        seen += [i.reference for i in page]
        after = page[-1].reference
    assert seen == wanted
    verified = IncidentQuery(status=IncidentStatus.VERIFIED)
    found = incident_queries.incident_page(db_session, mine, None, 50, verified)
    assert [i.reference for i in found] == sorted(
        i.reference for i in made[::4] if i.team_id in mine
    )
    assert incident_queries.incident_page(db_session, set(), None, 50) == []


# -- a people search -----------------------------------------------------------------------


def test_a_people_search_audits_its_candidates_in_fixed_statements(
    app: Flask, db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team])
    counts, found = [], 0
    for size in (FEW, MANY):
        while found < size:
            PersonFactory(team_id=team.id, secrets={"full_name": f"Akhmed Umarov {found}"})
            found += 1
        before = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
        with count_statements(app) as seen:
            matches = person_matching.search_people(context_for(researcher), "Akhmed Umarov")
        counts.append(seen.count)
        assert len(matches) == size
        # Still one decryption event per candidate, appended in one go.
        after = count_events(db_session, AuditAction.SECRET_DECRYPT, actor=researcher.email)
        assert after == before + size
    assert counts[0] == counts[1], counts


# -- a full export -------------------------------------------------------------------------


def _records_of_every_kind(team: Team) -> None:
    act = ActFactory(team_id=team.id)
    InvolvementFactory(team_id=team.id, act_id=act.id)
    source = SourceFactory(team_id=team.id)
    report = ReportFactory(team_id=team.id, incident_id=act.incident_id, source_id=source.id)
    EvidenceFactory(team_id=team.id, report_id=report.id)
    ConsentFactory(team_id=team.id, person_id=act.person_id)
    ConsentFactory(team_id=team.id, source_id=source.id, person_id=None)
    StateResponseFactory(team_id=team.id, incident_id=act.incident_id)
    action = AdvocacyActionFactory(team_id=team.id)
    ActionResponseFactory(action_id=action.id)
    FollowUpFactory(action_id=action.id)
    ActionLinkFactory(action_id=action.id, report_id=report.id)
    CampaignFactory(team_id=team.id)


def test_a_full_export_opens_every_kind_in_fixed_statements(
    app: Flask, ctx: Context, db_session: Session
) -> None:
    team = TeamFactory()
    counts, made = [], 0
    for size in (2, 20):  # records of each kind, within one batch of the export
        while made < size:
            _records_of_every_kind(team)
            made += 1
        out = io.BytesIO()
        with count_statements(app) as seen:
            write_export(ctx, start_export(ctx, Profile.FULL), out)
        counts.append(seen.count)
        assert "Held for eleven days." in out.getvalue().decode()
    assert counts[0] == counts[1], counts
