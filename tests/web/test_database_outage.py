"""The database going away under a running application, for real: a TCP proxy between the
application and PostgreSQL is cut mid-session, and what was sent meanwhile is answered 503
(a page with the typed text, an API problem with Retry-After) with nothing half-saved;
once the proxy is back the next request succeeds without restarting anything. A backend
killed by the server (`pg_terminate_backend`) is replaced before the next request uses it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from incidents import migrate
from incidents.crypto.keys import MasterKey
from incidents.extensions import db
from incidents.models import AuditEvent, Incident, Team, TeamMembership, User, UserRole
from incidents.models.vocabularies import Role
from incidents.services import sessions
from incidents.web.boundary import SESSION_TOKEN_KEY
from tests import factories, helpers
from tests.api.conftest import make_token
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    PostgresDatabase,
    make_test_app,
    skip_without_postgres,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

NARRATIVE = "Names and the street, typed while the database was away."
FIELD = re.compile(r'name="(csrf_token|draft_fields)"[^>]*value="([^"]+)"')
KEPT_FIELD = re.compile(
    r'<(?:input type="hidden"|textarea[^>]*) name="([^"]+)"(?: value="([^"]*)")?[^>]*>([^<]*)'
)


@dataclass
class Outage:
    app: Flask
    proxy: TcpProxy
    direct: Engine  # straight to the server, past the proxy: what is really stored
    database: str
    team: Team
    client: FlaskClient
    api_token: str


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey) -> Iterator[Outage]:
    """One installation for the module, reached through the proxy (restored by each test)."""
    skip_without_postgres()
    database = PostgresDatabase("outage")
    direct = create_engine(database.url)
    migrate.upgrade(direct)
    target = make_url(database.url)
    proxy = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    through_proxy = target.set(host="127.0.0.1", port=proxy.port)
    app = make_test_app(
        through_proxy.render_as_string(hide_password=False),
        tmp_path_factory.mktemp("outage"),
        master_key,
    )
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does
    try:
        with app.app_context():
            session = sessionmaker(db.engine, expire_on_commit=False)()
            team = Team(slug="outage", name="Outage")
            session.add(team)
            session.flush()
            researcher, api_user = (_researcher(team, name) for name in ("web", "api"))
            session.add_all([researcher, api_user])
            session.flush()
            cookie_token, _ = sessions.start_session(
                helpers.context(session, app, None), researcher, "tests"
            )
            api_token = make_token(app, session, api_user)
            session.commit()
            session.close()
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie[SESSION_TOKEN_KEY] = cookie_token
            cookie["_user_id"] = str(researcher.id)
            cookie["_fresh"] = True
        yield Outage(app, proxy, direct, database.name, team, client, api_token)
    finally:
        with app.app_context():
            db.engine.dispose()
        proxy.close()
        direct.dispose()
        database.drop()


def _researcher(team: Team, name: str) -> User:
    return User(
        email=f"{name}@example.org",
        display_name=name,
        password_hash=factories.default_password_hash(),
        is_active=True,
        roles=[UserRole(role=Role.RESEARCHER)],
        memberships=[TeamMembership(team_id=team.id)],
    )


def _stored(outage: Outage) -> tuple[int, int]:
    """Incidents and audit events in the database itself."""
    with outage.direct.connect() as connection:
        incidents = connection.scalar(select(func.count()).select_from(Incident)) or 0
        events = connection.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return incidents, events


def _typed(outage: Outage) -> dict[str, str]:
    page = outage.client.get("/incidents/new")
    assert page.status_code == 200
    hidden = dict(FIELD.findall(page.get_data(as_text=True)))
    return {
        **hidden,
        "title": "Detentions in Argun",
        "narrative": NARRATIVE,
        "country": "RU",
        "start_date": "2017-02",
        "status": "reported",
        "team": str(outage.team.id),
    }


def _api_create(outage: Outage) -> tuple[int, str, dict[str, str]]:
    answer = outage.client.post(
        "/api/v1/incidents",
        json={"team": outage.team.slug, "title": "Sent through the API"},
        headers={"Authorization": f"Bearer {outage.api_token}"},
    )
    return answer.status_code, answer.content_type, dict(answer.headers)


def test_a_cut_database_answers_503_keeps_the_typing_and_recovers_by_itself(
    outage: Outage,
) -> None:
    typed = _typed(outage)
    before = _stored(outage)

    outage.proxy.cut()
    answer = outage.client.post("/incidents/new", data=typed)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert "The database is not answering" in page and "was not saved" in page
    assert "Nothing you saved before is lost" in page
    assert NARRATIVE in page  # the text is on the page, in a form that sends it again
    assert 'class="site-header"' in page  # in the project's layout

    listing = outage.client.get("/incidents")
    assert listing.status_code == 503 and "Send it again" not in listing.get_data(as_text=True)
    status, content_type, headers = _api_create(outage)
    assert (status, content_type) == (503, "application/problem+json")
    assert headers["Retry-After"].isdigit()
    assert _stored(outage) == before  # nothing half-saved: no row, no audit event

    outage.proxy.restore()
    resent = {name: value or text for name, value, text in KEPT_FIELD.findall(page)}
    assert resent["narrative"] == NARRATIVE and resent["csrf_token"] == typed["csrf_token"]
    started = time.monotonic()
    saved = outage.client.post("/incidents/new", data={**typed, **resent})
    recovery = time.monotonic() - started
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert recovery < 5, f"the first request after the database came back took {recovery:.2f}s"
    incidents, events = _stored(outage)
    assert incidents == before[0] + 1 and events > before[1]
    assert _api_create(outage)[0] == 201
    print(f"first request after the database returned: {recovery * 1000:.0f} ms")


def test_a_backend_killed_by_the_server_is_replaced_before_it_is_used(outage: Outage) -> None:
    assert outage.client.get("/incidents").status_code == 200  # a pooled connection now
    connections = outage.proxy.connections_made
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            (outage.database,),
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert outage.client.get("/incidents").status_code == 200
    assert outage.proxy.connections_made > connections  # a new connection replaced it
