"""An auditor sees their own teams' part of the audit log, on the pages and through the
API: events about their teams' records and the account events of their teams' members,
never another team's users, e-mails or logins; the installation's own events with the
actor named only when a member or the command line. An installation auditor sees it all.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.filters import SOMEONE_ELSE, EventFilter
from incidents.audit.log import record_event
from incidents.models import User
from incidents.models.organisation import Organisation
from incidents.models.user import UserRole
from incidents.models.vocabularies import OrganisationKind, Role
from incidents.records.kinds import ORGANISATION
from incidents.services import accounts, auditor, authentication, history, records
from tests import helpers
from tests.api.conftest import make_token
from tests.factories import UserFactory
from tests.helpers import count_statements, events
from tests.web.conftest import World

OUTSIDER = "bob.outsider@example.org"  # a researcher of the other team
OTHER_AUDITOR = "carol.other-auditor@example.org"  # an auditor of the other team
MEMBER = "alice.member@example.org"  # a researcher of the auditor's team


@dataclass
class Log:
    outsider: User
    other_auditor: User
    member: User
    outsider_login: int
    member_login: int
    checkpoint: int
    organisation: Organisation


@pytest.fixture
def log(app: Flask, world: World, db_session: Session) -> Log:
    """Logins, decryptions and account changes in both teams, a checkpoint made by the
    other team's auditor, and a shared organisation edited by the other team."""
    outsider = UserFactory(email=OUTSIDER, role=Role.RESEARCHER, teams=[world.other_team])
    other_auditor = UserFactory(email=OTHER_AUDITOR, role=Role.AUDITOR, teams=[world.other_team])
    member = UserFactory(email=MEMBER, role=Role.RESEARCHER, teams=[world.team])
    db_session.flush()
    ctx = helpers.context(db_session, app)
    authentication.record_login_success(ctx, outsider, "totp")
    authentication.record_login_failure(ctx, outsider)
    authentication.record_login_success(ctx, member, "totp")
    as_outsider, as_member = ctx.acting_as(outsider), ctx.acting_as(member)
    record_event(
        db_session,
        as_outsider.actor,
        AuditAction.SECRET_DECRYPT,
        world.other_incident,
        ["narrative"],
    )
    record_event(
        db_session, as_member.actor, AuditAction.SECRET_DECRYPT, world.incident, ["narrative"]
    )
    admin = ctx.acting_as(world.users["admin"])
    accounts.set_roles(admin, outsider, [Role.RESEARCHER, Role.ADVOCACY_LEAD])
    accounts.set_roles(admin, member, [Role.RESEARCHER, Role.ADVOCACY_LEAD])
    record_event(
        db_session,
        ctx.acting_as(other_auditor).actor,
        AuditAction.AUDIT_CHECKPOINT,
        detail={"size": 1, "root": "x", "checkpoint": "not checked here"},
    )
    organisation = records.insert(
        ctx, Organisation(name="Memorial", kind=OrganisationKind.NGO), None
    )
    record_event(
        db_session, as_outsider.actor, AuditAction.RECORD_UPDATE, organisation, ["website"]
    )
    logins = {e.actor: e.id for e in events(db_session, AuditAction.LOGIN_SUCCESS)}
    (checkpoint,) = events(db_session, AuditAction.AUDIT_CHECKPOINT)
    return Log(
        outsider,
        other_auditor,
        member,
        logins[OUTSIDER],
        logins[MEMBER],
        checkpoint.id,
        organisation,
    )


def _page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def _every_page(client: FlaskClient) -> str:
    pages = [_page(client, "/audit")]
    pages += [_page(client, f"/audit?action={action}") for action in ("login.", "user.", "audit.")]
    return "\n".join(pages)


def test_a_team_auditor_sees_no_other_teams_users_logins_or_records(
    client: FlaskClient, world: World, log: Log, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = _every_page(client)
    for hidden in (OUTSIDER, OTHER_AUDITOR, world.other_incident.reference):
        assert hidden not in page
    assert str(log.outsider.id) not in page, "not even the account's id"
    assert MEMBER in page, "their own team's member's logins and decryptions"
    assert f"#{log.member_login}<" in page
    assert f"#{log.outsider_login}<" not in page
    assert f'href="/audit?record={log.member.id}"' in page, "the member's account events"
    assert "<code>user.roles_change</code>" in _page(client, f"/audit?record={log.member.id}")
    assert "No events match" in _page(client, f"/audit?record={log.outsider.id}")
    assert "No events match" in _page(client, f"/audit?record={world.other_incident.reference}")


def test_installation_events_are_shown_without_another_teams_e_mail(
    client: FlaskClient, log: Log, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    page = _page(client, "/audit?action=audit.checkpoint")
    assert f"#{log.checkpoint}<" in page and SOMEONE_ELSE in page
    assert OTHER_AUDITOR not in page
    # The actor filter cannot confirm whose it was, nor name anyone of the other team.
    for words in (OTHER_AUDITOR, "carol", "outsider"):
        assert "No events match" in _page(client, f"/audit?actor={words}"), words
    organisation = _page(client, f"/audit?record={log.organisation.id}")
    assert "<code>record.update</code>" in organisation and OUTSIDER not in organisation


def test_an_installation_auditor_sees_every_team(
    client: FlaskClient,
    world: World,
    log: Log,
    db_session: Session,
    as_role: Callable[[str], User | None],
) -> None:
    world.users["auditor"].installation_auditor = True
    db_session.flush()
    as_role("auditor")
    page = _every_page(client)
    for shown in (OUTSIDER, OTHER_AUDITOR, MEMBER, world.other_incident.reference):
        assert shown in page
    assert SOMEONE_ELSE not in page
    assert OUTSIDER in _page(client, f"/audit?actor={OUTSIDER}")
    # The grant is the log's: the other team's records stay out of reach.
    _page(client, f"/audit/incidents/{world.other_incident.reference}", 404)


def test_the_api_answers_as_the_pages_do(
    app: Flask, world: World, log: Log, db_session: Session
) -> None:
    auditor_user = UserFactory(role=Role.AUDITOR, teams=[world.team])
    db_session.flush()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(app, db_session, auditor_user)}"}

    def get(path: str) -> tuple[int, str]:
        response = client.get(f"/api/v1{path}", headers=headers)
        return response.status_code, response.get_data(as_text=True)

    status, body = get("/audit/events?limit=200")
    assert status == 200 and MEMBER in body
    assert OUTSIDER not in body and OTHER_AUDITOR not in body
    assert world.other_incident.reference not in body
    assert get(f"/audit/events/{log.member_login}")[0] == 200
    assert get(f"/audit/events/{log.outsider_login}")[0] == 404
    status, one = get(f"/audit/events/{log.checkpoint}")
    assert status == 200 and SOMEONE_ELSE in one and OTHER_AUDITOR not in one
    assert OUTSIDER not in get(f"/audit/events?actor={OUTSIDER}")[1]

    auditor_user.installation_auditor = True
    db_session.flush()
    status, body = get("/audit/events?limit=200")
    assert OUTSIDER in body and OTHER_AUDITOR in body
    assert get(f"/audit/events/{log.outsider_login}")[0] == 200


def test_an_administrator_who_audits_sees_every_account_but_no_other_teams_records(
    app: Flask, world: World, log: Log, db_session: Session
) -> None:
    both = UserFactory(role=Role.ADMIN, teams=[world.team])
    both.roles.append(UserRole(role=Role.AUDITOR))
    db_session.flush()
    ctx = helpers.context(db_session, app, both)
    shown = auditor.event_page(ctx, EventFilter(action="user.roles_change")).events
    targets = {event.target_id for event in shown}
    assert {str(log.outsider.id), str(log.member.id)} <= targets
    decryptions = auditor.event_page(ctx, EventFilter(action="secret.")).events
    assert {event.target_ref for event in decryptions} == {world.incident.reference}


def test_a_page_of_a_team_auditor_asks_the_same_statements_however_many_members(
    app: Flask, world: World, log: Log, db_session: Session
) -> None:
    ctx = helpers.context(db_session, app, world.users["auditor"])
    auditor.event_page(ctx, EventFilter())  # queued events join the tree first
    counts = []
    for _ in range(2):
        with count_statements(app) as seen:
            auditor.event_page(ctx, EventFilter())
        counts.append(seen.count)
        for _ in range(10):
            UserFactory(role=Role.RESEARCHER, teams=[world.team])
        db_session.flush()
    assert counts[0] == counts[1], counts


def test_a_shared_records_history_names_only_the_readers_teams(
    app: Flask, world: World, log: Log, db_session: Session
) -> None:
    team_auditor = helpers.context(db_session, app, world.users["auditor"])
    seen = history.history_of(team_auditor, ORGANISATION, log.organisation)
    assert seen is not None
    assert {entry.who for entry in seen.entries} >= {SOMEONE_ELSE}
    assert all(entry.login != OUTSIDER for entry in seen.entries)
    world.users["auditor"].installation_auditor = True
    db_session.flush()
    whole = history.history_of(team_auditor, ORGANISATION, log.organisation)
    assert whole is not None and OUTSIDER in {entry.login for entry in whole.entries}
