"""Incidents: a documentation database for human-rights incidents."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from incidents import extensions
from incidents.audit import sequencer
from incidents.bootstrap import (
    ensure_instance_dir,
    load_audit_signer,
    load_key_provider,
    load_secret_key,
)
from incidents.errors import ConfigurationError
from incidents.paths import data_dir
from incidents.services import limiter_store
from incidents.settings import Settings, load_settings
from incidents.storage.choice import evidence_store_for


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from settings; raise ConfigurationError with one clear line."""
    settings = load_settings(overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    # Alembic reports each step at INFO; the commands print their own outcome.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    instance = ensure_instance_dir(settings)
    from incidents.web.application import Application

    app = Application(
        __name__,
        instance_path=str(instance),
        template_folder=str(data_dir("templates")),
        static_folder="web/static",
    )
    app.config.update(
        INCIDENTS_SETTINGS=settings,
        SECRET_KEY=load_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="__Host-session" if settings.is_production else "session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.is_production,
        # A form's token lives as long as the session that issued it, which the server ends
        # after the idle and absolute timeouts: a long testimony typed for more than an
        # hour must not be refused for its token's age.
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_HEADERS_ENABLED=False,
        # Fail closed: with Redis unreachable, counting per worker would multiply every
        # limit by the number of workers and forget it at each restart, so sign-in is
        # refused instead (503, incidents/web/throttling.py). Development too, when it is
        # configured for Redis (it counts in memory:// by default): the limiter is one
        # object per process that keeps the flag of the first application built.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,
        RATELIMIT_STORAGE_OPTIONS=limiter_store.storage_options(settings.ratelimit_storage_uri),
        TESTING=settings.env == "testing",
    )
    if settings.trusted_proxies:
        # The client address the login limits count by comes from the proxies' header.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    app.extensions[extensions.KEY_PROVIDER] = load_key_provider(settings)
    app.extensions[extensions.AUDIT_SIGNER] = load_audit_signer(settings, generate=False)
    extensions.db.init_app(app, settings.sqlalchemy_url)
    sequencer.set_bounds(
        sequencer.QueueBounds(
            settings.audit_queue_max_leaves, timedelta(seconds=settings.audit_queue_max_seconds)
        )
    )
    with app.app_context():  # the database store writes through the application's engine
        app.extensions[extensions.EVIDENCE_STORE] = evidence_store_for(
            settings.evidence_store, instance / "evidence", extensions.db.engine
        )
    _check_database(app, settings)
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)

    from incidents.api import register_api
    from incidents.web import register_web
    from incidents.web.boundary import init_login

    init_login()
    register_web(app)
    register_api(app)
    return app


def _check_database(app: Flask, settings: Settings) -> None:
    """Fail at start-up, in one line, when the database cannot be reached."""
    try:
        with app.app_context(), extensions.db.engine.connect() as connection:
            # Reading needs no write lock (SQLite transactions otherwise begin IMMEDIATE).
            checking = connection.execution_options(**{extensions.SQLITE_BEGIN: "DEFERRED"})
            checking.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        where = db_location(settings)
        raise ConfigurationError(f"cannot connect to the database {where}: {reason}") from None


def db_location(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
