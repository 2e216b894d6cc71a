"""The retention page of the administration (rules and legal holds), and the notice on a
record's page saying when it is due. Who may open the page at all is in the access matrix
(tests/web/test_access_matrix.py)."""

from __future__ import annotations

import datetime as dt
import html
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import LegalHold, RetentionRule
from incidents.services import retention, retention_rules
from incidents.services.retention_rules import NewRule
from tests.conftest import csrf_token
from tests.factories import PersonFactory, ReportFactory, SourceFactory
from tests.helpers import count_events, enter
from tests.services.retention_world import set_dates
from tests.web.conftest import World

PAGE = "/admin/retention"


def _as_admin(client: FlaskClient, db_session: Session, world: World) -> str:
    enter(client, db_session, world.users["admin"])
    return csrf_token(client, PAGE)


def _text(client: FlaskClient, path: str) -> str:
    return html.unescape(client.get(path).get_data(as_text=True))


def test_an_administrator_adds_and_removes_a_rule(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    token = _as_admin(client, db_session, world)
    response = client.post(
        "/admin/retention/rules",
        data={
            "csrf_token": token,
            "kind": "source",
            "field": "contact",
            "period_count": "2",
            "period_unit": "years",
            "from_date": "last_report",
        },
    )
    assert (response.status_code, response.headers["Location"]) == (302, PAGE)
    page = _text(client, PAGE)
    assert "Added the rule “source contact: 2 years after its last report was received”" in page
    rule = db_session.scalars(select(RetentionRule)).one()
    assert count_events(db_session, "retention.rule_add") == 1

    response = client.post(
        "/admin/retention/rules/remove",
        data={"csrf_token": token, "rule_id": str(rule.id)},
    )
    assert response.status_code == 302
    assert db_session.scalars(select(RetentionRule)).all() == []
    assert count_events(db_session, "retention.rule_remove") == 1
    # The same button again (another tab): nothing to remove, and it says so.
    client.post(
        "/admin/retention/rules/remove", data={"csrf_token": token, "rule_id": str(rule.id)}
    )
    assert "That rule was removed already" in _text(client, PAGE)


def test_a_refused_rule_names_each_field_and_keeps_what_was_typed(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    token = _as_admin(client, db_session, world)
    response = client.post(
        "/admin/retention/rules",
        data={
            "csrf_token": token,
            "kind": "person",
            "field": "identity",
            "period_count": "two",
            "period_unit": "years",
            "from_date": "last_report",
        },
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "A person has no secret field 'identity'" in page
    assert "Enter a whole number of years from 1 to 100." in page
    assert "Choose the date it runs from" in page
    assert 'value="two"' in page
    assert db_session.scalars(select(RetentionRule)).all() == []


def test_an_administrator_places_and_releases_a_legal_hold(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    token = _as_admin(client, db_session, world)
    reference = world.incident.reference
    response = client.post(
        "/admin/retention/holds",
        data={"csrf_token": token, "reference": reference.lower(), "reason": "Court order 12/2026"},
    )
    assert response.status_code == 302
    page = _text(client, PAGE)
    assert f"{reference} is under a legal hold" in page and "Court order 12/2026" in page
    hold = db_session.scalars(select(LegalHold)).one()
    assert (hold.reference, hold.team_id) == (reference, world.team.id)
    assert count_events(db_session, "legal_hold.place") == 1

    response = client.post(
        "/admin/retention/holds/release", data={"csrf_token": token, "hold_id": str(hold.id)}
    )
    assert response.status_code == 302
    db_session.refresh(hold)
    assert hold.released_at is not None and hold.released_by == world.users["admin"].email
    assert count_events(db_session, "legal_hold.release") == 1
    assert "No record is under a legal hold." in _text(client, PAGE)


def test_a_refused_hold_keeps_the_reason_typed(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    token = _as_admin(client, db_session, world)
    response = client.post(
        "/admin/retention/holds",
        data={"csrf_token": token, "reference": "RPT-2017-9999", "reason": "Case 44/2026"},
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "There is no report RPT-2017-9999." in page
    assert "Case 44/2026" in page and 'value="RPT-2017-9999"' in page


def test_a_record_page_says_when_it_is_due_and_under_which_rule(
    client: FlaskClient, db_session: Session, world: World, ctx: Context
) -> None:
    source = SourceFactory(team_id=world.team.id, secrets={"contact": "+7 000"})
    received = dt.date(2025, 3, 12)
    ReportFactory(team_id=world.team.id, source_id=source.id, received_on=received)
    retention_rules.add_rule(ctx, NewRule("source", "contact", "2", "years", "last_report"))
    enter(client, db_session, world.users["researcher"])
    page = _text(client, f"/sources/{source.reference}")
    assert (
        "Its contact: due for retention erasure on 12 March 2027 under the rule "
        "“source contact: 2 years after its last report was received”."
    ) in " ".join(page.split())
    # A record no rule concerns has no notice.
    assert 'id="retention"' not in _text(
        client, f"/reports/{ReportFactory(team_id=world.team.id).reference}"
    )


def test_a_held_record_page_says_so(
    client: FlaskClient, db_session: Session, world: World, ctx: Context
) -> None:
    person = PersonFactory(team_id=world.team.id)
    old = dt.datetime(2019, 1, 5, 12, tzinfo=dt.UTC)
    set_dates(db_session, person, created_at=old)
    retention_rules.add_rule(ctx, NewRule("person", "", "5", "years", "created_at"))
    retention_rules.place_hold(ctx, person.reference, "Court order 3/2026")
    enter(client, db_session, world.users["researcher"])
    page = " ".join(_text(client, f"/people/{person.reference}").split())
    assert "Due for retention erasure since 5 January 2024 under the rule" in page
    assert f"Under a legal hold ({person.reference}) since {utcnow():%-d %B %Y}" in page


def test_a_shredded_field_shows_in_the_history_and_its_notice_goes(
    client: FlaskClient, db_session: Session, world: World, ctx: Context
) -> None:
    source = SourceFactory(team_id=world.team.id, secrets={"contact": "+7 000"})
    ReportFactory(team_id=world.team.id, source_id=source.id, received_on=dt.date(2020, 1, 1))
    retention_rules.add_rule(ctx, NewRule("source", "contact", "2", "years", "last_report"))
    retention.apply(ctx, retention.plan(ctx, team_id=world.team.id))
    enter(client, db_session, world.users["researcher"])
    page = _text(client, f"/sources/{source.reference}")
    assert 'id="retention"' not in page  # nothing of it is due any more
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Shredded by a retention rule : contact" in words
