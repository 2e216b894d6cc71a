"""The server-rendered web interface: one package per area (its views and forms together),
deny by default, one unit of work per request."""

from __future__ import annotations

from flask import Flask

from incidents.web import (
    account,
    admin,
    audit,
    auth,
    converters,
    erasure,
    errors,
    evidence,
    incidents,
    people,
    security,
    templating,
)


def register_web(app: Flask) -> None:
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    converters.install(app)
    for area in (auth, account, admin, incidents, evidence, people, audit, erasure):
        app.register_blueprint(area.blueprint)
