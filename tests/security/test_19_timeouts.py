"""Security check 19: a session ends after session_idle_minutes without a request, and after
session_absolute_hours whatever happens; a request within the idle limit keeps it.

The session row's clock is moved back instead of waiting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.db import utcnow
from incidents.services.sessions import EndReason
from tests.helpers import settings_of
from tests.security.conftest import enter, is_logged_in, open_sessions
from tests.web.conftest import World


def _settings(app: Flask) -> tuple[timedelta, timedelta]:
    settings = settings_of(app)
    return timedelta(minutes=settings.session_idle_minutes), timedelta(
        hours=settings.session_absolute_hours
    )


@pytest.mark.parametrize(
    ("label", "created_ago", "seen_ago", "reason"),
    [
        ("idle", "idle", "idle", EndReason.IDLE),
        ("absolute", "absolute", "recently", EndReason.EXPIRED),
    ],
)
def test_19_a_timed_out_session_ends(
    label: str,
    created_ago: str,
    seen_ago: str,
    reason: str,
    app: Flask,
    world: World,
    db_session: Session,
) -> None:
    idle, absolute = _settings(app)
    ago = {"idle": idle + timedelta(seconds=5), "absolute": absolute + timedelta(seconds=5)}
    ago["recently"] = timedelta(minutes=1)
    user = world.users["researcher"]
    client = enter(app.test_client(), db_session, user)
    (row,) = open_sessions(db_session, user)
    now = utcnow()
    row.created_at, row.last_seen_at = now - ago[created_ago], now - ago[seen_ago]
    db_session.flush()

    response = client.get("/incidents")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/incidents"  # and back after login
    page = client.get("/login").get_data(as_text=True)
    assert "Your session has ended" in page
    db_session.expire_all()
    assert row.ended_at is not None and row.end_reason == reason, label
    assert not is_logged_in(client)


def test_19_a_request_within_the_idle_limit_keeps_the_session(
    app: Flask, world: World, db_session: Session
) -> None:
    idle, _absolute = _settings(app)
    user = world.users["auditor"]
    client = enter(app.test_client(), db_session, user)
    (row,) = open_sessions(db_session, user)
    row.last_seen_at = utcnow() - idle + timedelta(seconds=30)
    db_session.flush()

    assert client.get("/incidents").status_code == 200
    db_session.expire_all()
    assert row.ended_at is None
    # The request counts as activity: the idle clock starts again.
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
