"""The server-rendered web interface: one package per area (its views and forms together),
deny by default, one unit of work per request."""

from __future__ import annotations

from flask import Flask

from incidents.web import (
    account,
    acts,
    admin,
    advocacy,
    audit,
    auth,
    consent,
    converters,
    dashboard,
    drafts,
    erasure,
    errors,
    evidence,
    exports,
    help,
    imports,
    incidents,
    people,
    reports,
    reviews,
    security,
    sources,
    summaries,
    templating,
    triage,
)


def register_web(app: Flask) -> None:
    security.init_app(app)
    drafts.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    converters.install(app)
    for area in (
        auth,
        account,
        admin,
        incidents,
        acts,
        reports,
        sources,
        evidence,
        people,
        triage,
        consent,
        reviews,
        advocacy,
        summaries,
        exports,
        imports,
        dashboard,
        audit,
        erasure,
        help,
    ):
        app.register_blueprint(area.blueprint)
