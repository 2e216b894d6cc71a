"""One unit of work per request: what a request did is committed once it succeeds,
rolled back when it fails, and a request that would leave audit events uncommitted
fails loudly under test instead of silently losing them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, flash, session, stream_with_context
from sqlalchemy import event as orm_event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.crypto.keys import MasterKey
from incidents.errors import EditConflict, NotFound
from incidents.extensions import db
from incidents.permissions import Operator
from incidents.unit_of_work import UncommittedAuditEvents, close
from incidents.web.security import public
from tests.conftest import make_test_app
from tests.helpers import context, count_events

OPERATOR = Operator("unit-of-work")
ACTOR = "cli:unit-of-work"


@pytest.fixture
def probe(
    app: Flask, db_session: Session, tmp_path: Path, master_key: MasterKey
) -> Iterator[Flask]:
    """An application with routes of its own, on the test's transaction."""
    url = app.extensions["incidents.db"].engine.url.render_as_string(hide_password=False)
    probe = make_test_app(url, tmp_path / "instance", master_key)
    db.use_session_factory(probe, app.extensions["incidents.db"].session_factory)
    probe.config["PROPAGATE_EXCEPTIONS"] = False  # answer a 500 as production does

    def audited() -> None:
        record_event(db.session, context(db.session, probe, OPERATOR).actor, AuditAction.LOGOUT)

    @public
    def succeeds() -> str:
        audited()
        return "done"

    @public
    def fails() -> str:
        audited()
        raise NotFound("after the event")

    @public
    def cannot_commit() -> str:
        audited()
        flash("Done: everything was saved.", "info")
        session["changed"] = True

        def refuse(_session: Session) -> None:
            raise OperationalError("COMMIT", {}, Exception("disk full"))

        orm_event.listen(db.session, "before_commit", refuse, once=True)
        return "done"

    @public
    def conflicts() -> str:
        audited()
        raise EditConflict("INC-2017-0001", 3, 4, {"title": "typed"})

    @public
    def streams() -> Response:
        def body() -> Iterator[str]:
            yield "first"
            audited()  # after the request's commit: nothing would ever commit this
            yield "second"

        return Response(stream_with_context(body()))

    for view in (succeeds, fails, cannot_commit, conflicts, streams):
        probe.add_url_rule(f"/probe/{view.__name__}", view.__name__, view)
    yield probe
    with probe.app_context():
        db.engine.dispose()


def test_a_request_that_succeeds_commits_its_events(probe: Flask, db_session: Session) -> None:
    response = probe.test_client().get("/probe/succeeds")
    assert response.status_code == 200
    db_session.expire_all()
    assert count_events(db_session, AuditAction.LOGOUT, actor=ACTOR) == 1


def test_a_request_that_fails_leaves_nothing(probe: Flask, db_session: Session) -> None:
    response = probe.test_client().get("/probe/fails")
    assert response.status_code == 404
    assert count_events(db_session, AuditAction.LOGOUT, actor=ACTOR) == 0


def test_a_request_whose_commit_fails_says_nothing_was_done(
    probe: Flask, db_session: Session
) -> None:
    client = probe.test_client()
    response = client.get("/probe/cannot_commit")
    assert response.status_code == 500
    assert "Done: everything was saved." not in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers  # the browser's cookie stays as it was
    assert count_events(db_session, AuditAction.LOGOUT, actor=ACTOR) == 0
    after = client.get("/probe/succeeds")  # the next request has nothing left over
    assert after.status_code == 200
    assert count_events(db_session, AuditAction.LOGOUT, actor=ACTOR) == 1


def test_an_edit_conflict_is_said_and_saves_nothing(probe: Flask, db_session: Session) -> None:
    response = probe.test_client().get("/probe/conflicts")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "INC-2017-0001 was changed by someone else (version 4)" in page
    assert "nothing was saved" in page
    assert count_events(db_session, AuditAction.LOGOUT, actor=ACTOR) == 0


def test_events_written_after_the_commit_fail_the_request_loudly(probe: Flask) -> None:
    with pytest.raises(UncommittedAuditEvents):
        probe.test_client().get("/probe/streams").get_data()


def test_closing_a_session_with_uncommitted_events_fails_under_test(
    app: Flask, db_session: Session
) -> None:
    ctx = context(db_session, app)
    with db_session.begin_nested():  # the test's own transaction stays as it is
        record_event(db_session, ctx.actor, AuditAction.LOGOUT)
    with pytest.raises(UncommittedAuditEvents, match="1 audit event"):
        close(db_session, strict=True)
