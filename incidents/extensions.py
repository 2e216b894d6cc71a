"""Extensions, created here and bound to an application in create_app.

The database handle is a small wrapper rather than Flask-SQLAlchemy: services take a
plain SQLAlchemy Session, the CLI and tests need to choose how sessions are made
(tests bind them to one outer transaction), and there is no legacy Model.query to avoid.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from incidents import sqlite_locking, unit_of_work
from incidents.audit.signing import Signer
from incidents.crypto.keys import KeyFileProvider, KeyProvider, reloaded_if_changed
from incidents.storage.store import EvidenceStore

_EXTENSION = "incidents.db"


@dataclass
class _DatabaseState:
    engine: Engine
    session_factory: sessionmaker[Session]


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
        # SAVEPOINTs and transactional DDL behave (SQLAlchemy's pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()


# How SQLite transactions begin, and why: incidents/sqlite_locking.py.
SQLITE_BEGIN = sqlite_locking.SQLITE_BEGIN  # execution option: "DEFERRED" for a read-only check


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite enforces foreign keys and has real transactions."""
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", sqlite_locking.begin)
        event.listen(engine, "before_cursor_execute", sqlite_locking.note_savepoint)
        event.listen(engine, "release_savepoint", sqlite_locking.savepoint_closed)
        event.listen(engine, "rollback_savepoint", sqlite_locking.savepoint_closed)
    return engine


class Database:
    """One engine per application; one session per application context."""

    def init_app(self, app: Flask, url: str) -> None:
        engine = make_engine(url)
        app.extensions[_EXTENSION] = _DatabaseState(
            engine, sessionmaker(engine, expire_on_commit=False)
        )
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _state() -> _DatabaseState:
        state: _DatabaseState = current_app.extensions[_EXTENSION]
        return state

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def session(self) -> Session:
        """The session of the current application context, made on first use."""
        if "db_session" not in g:
            g.db_session = self._state().session_factory()
        session: Session = g.db_session
        return session

    @staticmethod
    def has_session() -> bool:
        """Whether the current application context has made its session yet."""
        return "db_session" in g

    def use_session_factory(self, app: Flask, factory: sessionmaker[Session]) -> None:
        """Make sessions with `factory` from now on (tests bind them to one transaction)."""
        app.extensions[_EXTENSION].session_factory = factory

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            # Under test, a request or command that leaves audit events uncommitted fails.
            unit_of_work.close(session, strict=current_app.testing)


KEY_PROVIDER = "incidents.keys"


def key_provider() -> KeyProvider:
    """The master key provider built by create_app for this application; a key file
    another process has replaced since (a rotation) is read again."""
    provider: KeyProvider = current_app.extensions[KEY_PROVIDER]
    if isinstance(provider, KeyFileProvider):
        current = reloaded_if_changed(provider)
        if current is not provider:
            current_app.extensions[KEY_PROVIDER] = current
        return current
    return provider


def use_key_provider(provider: KeyProvider) -> None:
    """Replace this application's provider (after a key is added or retired)."""
    current_app.extensions[KEY_PROVIDER] = provider


EVIDENCE_STORE = "incidents.evidence_store"


def evidence_store() -> EvidenceStore:
    """The evidence store built by create_app for this application."""
    store: EvidenceStore = current_app.extensions[EVIDENCE_STORE]
    return store


AUDIT_SIGNER = "incidents.audit_signer"


def audit_signer() -> Signer:
    """The audit checkpoint signing key (kept outside the database), loaded by create_app
    or, in development, generated on first use."""
    signer: Signer | None = current_app.extensions[AUDIT_SIGNER]
    if signer is None:
        from incidents.bootstrap import load_audit_signer

        signer = load_audit_signer(current_app.config["INCIDENTS_SETTINGS"])
        assert signer is not None  # generated when missing
        current_app.extensions[AUDIT_SIGNER] = signer
    return signer


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
# Limits are declared on the views that need them (login and second factor); nothing is
# limited by default. Storage comes from the ratelimit_storage_uri setting. Flask-Limiter
# keeps one storage per Limiter, replaced by each init_app: one application per process
# (as in production) counts in its own storage; tests that build several apps reset it.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
