"""The audit log through the API, on SQLite and PostgreSQL: for auditors (audit:read) the
events the log page shows them — of their teams' records and of no team, never another
team's — filtered as on the page, page by page by cursor; every other role, and a token
without the scope, is refused."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from tests.api.conftest import TokenClient, field_errors
from tests.factories import IncidentFactory, ReportFactory
from tests.helpers import events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]


def _walk(caller: TokenClient, query: str) -> list[int]:
    """Every event's position, following `next` from the first page."""
    seen: list[int] = []
    url = f"/audit/events?{query}"
    while True:
        page = caller.get(url).get_json()
        seen += [event["id"] for event in page["items"]]
        if page["next"] is None:
            return seen
        url = f"/audit/events?{query}&cursor={page['next']}"


def test_an_auditor_reads_the_events_of_their_teams_and_of_none(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    auditor = api_client("auditor")
    mine = IncidentFactory(team_id=world.team.id)
    theirs = IncidentFactory(team_id=world.other_team.id)
    db_session.flush()
    visible = [e.id for e in events(db_session) if e.team_id is None or e.team_id == world.team.id]
    hidden = [e.id for e in events(db_session) if e.team_id == world.other_team.id]

    walked = _walk(auditor, "limit=7")

    assert hidden and set(walked).isdisjoint(hidden)
    # Newest first, each once; the token's own use may add events as the walk goes on.
    assert walked == sorted(set(walked), reverse=True)
    assert set(visible) <= set(walked)
    about_mine = auditor.get(f"/audit/events?record={mine.reference}").get_json()["items"]
    assert [e["action"] for e in about_mine] == [AuditAction.RECORD_CREATE.value]
    assert about_mine[0]["target_ref"] == mine.reference
    assert "narrative" in about_mine[0]["fields"]  # a name, never the value
    assert auditor.get(f"/audit/events?record={theirs.reference}").get_json()["items"] == []


def test_one_event_is_read_by_its_position(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    auditor = api_client("auditor")
    mine = ReportFactory(team_id=world.team.id)
    theirs = ReportFactory(team_id=world.other_team.id)
    db_session.flush()
    (made,) = events(db_session, AuditAction.RECORD_CREATE, mine)
    (hidden,) = events(db_session, AuditAction.RECORD_CREATE, theirs)

    shown = auditor.get(f"/audit/events/{made.id}")

    assert shown.status_code == 200
    assert shown.get_json() == {
        "id": made.id,
        "occurred_at": shown.get_json()["occurred_at"],
        "actor": made.actor,
        "action": "record.create",
        "target_table": "reports",
        "target_id": str(mine.id),
        "target_ref": mine.reference,
        "fields": made.fields,
        "detail": made.detail,
    }
    for position in (hidden.id, 0, made.id + 10_000, 2**63, 10**30):
        assert auditor.get(f"/audit/events/{position}").status_code == 404, position


def test_filters_and_cursors_are_checked(api_client: ApiClient, db_session: Session) -> None:
    auditor = api_client("auditor")
    ReportFactory()
    db_session.flush()
    newest = max(e.id for e in events(db_session))

    created = auditor.get("/audit/events?action=record.&since=2000-01-01&until=2999-12-31")
    before_newest = auditor.get(f"/audit/events?cursor={newest}").get_json()["items"]

    assert created.status_code == 200
    assert {e["action"] for e in created.get_json()["items"]} <= {
        "record.create",
        "record.update",
    }
    assert all(e["id"] < newest for e in before_newest)
    for query, name in (
        ("cursor=abc", "cursor"),
        ("cursor=0", "cursor"),
        (f"cursor={2**63}", "cursor"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("since=yesterday", "since"),
        ("until=9999-12-31", "until"),
        ("actor=%00", "actor"),
        ("colour=red", "colour"),
    ):
        assert set(field_errors(auditor.get(f"/audit/events?{query}"))) == {name}, query


def test_only_auditors_with_the_scope_read_the_log(
    api_client: ApiClient, db_session: Session
) -> None:
    position = events(db_session)[0].id  # integrated first: a position of the tree
    for caller in (
        api_client("researcher"),
        api_client("advocacy_lead"),
        api_client("auditor", ["cases:read", "advocacy:read"]),
    ):
        assert caller.get("/audit/events").status_code == 403
        assert caller.get(f"/audit/events/{position}").status_code == 403
