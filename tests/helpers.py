"""What many tests need: a call context, audit events counted, commands run in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from incidents.audit import sequencer
from incidents.context import Context
from incidents.crypto.keys import KeyProvider
from incidents.extensions import db
from incidents.models import AuditEvent, User
from incidents.permissions import Operator
from incidents.services import sessions
from incidents.settings import Settings
from incidents.storage.store import EvidenceStore
from incidents.web.boundary import SESSION_TOKEN_KEY

# What the tests do as the operator is audited under this name ("cli:tests").
TEST_OPERATOR = Operator("tests")


def key_provider(app: Flask) -> KeyProvider:
    """The master key provider the application was built with."""
    provider: KeyProvider = app.extensions["incidents.keys"]
    return provider


def evidence_store(app: Flask) -> EvidenceStore:
    store: EvidenceStore = app.extensions["incidents.evidence_store"]
    return store


def settings_of(app: Flask, **changes: Any) -> Settings:
    settings: Settings = app.config["INCIDENTS_SETTINGS"]
    return dataclasses.replace(settings, **changes) if changes else settings


def context(
    session: Session,
    app: Flask,
    principal: User | Operator | None = TEST_OPERATOR,
    **settings: Any,
) -> Context:
    """A call context on `session` acting as `principal` (the test operator by default),
    with the application's keys and store; `settings` replace single settings."""
    return Context.build(
        session, key_provider(app), evidence_store(app), settings_of(app, **settings), principal
    )


def enter(client: FlaskClient, session: Session, user: User) -> FlaskClient:
    """Put `user` in `client` as a completed login does (web.boundary.begin_session), without
    the form: checking an Argon2 hash takes a third of a second, and the tests that use this
    are about what happens after login. The tests of logging in use the form."""
    ctx = context(session, client.application, None)  # nobody, as before a login
    session_token, _ = sessions.start_session(ctx, user, "tests")
    session.flush()
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie[SESSION_TOKEN_KEY] = session_token
        cookie["_user_id"] = str(user.id)  # what flask_login.login_user records
        cookie["_fresh"] = True
    return client


def count_events(
    session: Session, action: str | None = None, target: Any = None, actor: str | None = None
) -> int:
    """How many audit events there are (of `action`, about `target`, by `actor`): on
    PostgreSQL those still queued are integrated first (as a commit would)."""
    session.flush()
    sequencer.integrate_queued(session)
    statement = select(func.count()).select_from(AuditEvent)
    for condition in _conditions(action, target, actor):
        statement = statement.where(condition)
    return int(session.scalar(statement) or 0)


def events(
    session: Session, action: str | None = None, target: Any = None, actor: str | None = None
) -> list[AuditEvent]:
    """The audit events (of `action`, about `target`, by `actor`), in log order: on
    PostgreSQL those still queued are integrated first (as a commit would), so that each
    event's id is its position."""
    session.flush()
    sequencer.integrate_queued(session)
    statement = select(AuditEvent)
    for condition in _conditions(action, target, actor):
        statement = statement.where(condition)
    return list(session.scalars(statement.order_by(AuditEvent.id)))


def _conditions(action: str | None, target: Any, actor: str | None) -> list[Any]:
    conditions = []
    if action is not None:
        conditions.append(AuditEvent.action == str(action))
    if target is not None:
        conditions.append(AuditEvent.target_id == str(target.id))
    if actor is not None:
        conditions.append(AuditEvent.actor == actor)
    return conditions


def invoke(app: Flask, command: object, *arguments: str, input: str | None = None) -> Result:
    """Run a command of the `incidents` group in-process, in the test's transaction."""
    result: Result = app.test_cli_runner().invoke(command, list(arguments), input=input)
    return result


@dataclass
class Statements:
    """The SQL statements run while counting: what the page asked the database."""

    sql: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sql)

    def __repr__(self) -> str:  # what an assertion shows: one line per statement
        return "\n".join(f"{n}. {' '.join(sql.split())[:160]}" for n, sql in enumerate(self.sql, 1))


@contextmanager
def count_statements(app: Flask) -> Iterator[Statements]:
    """Count the SQL statements the application's engine runs inside the block, savepoints
    and their releases aside (the test transaction's bookkeeping, not the page's work).

        with count_statements(app) as statements:
            client.get("/reports")
        assert statements.count <= 8, statements
    """
    seen = Statements()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.sql.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
