"""The server-rendered web interface: blueprints per area, deny by default."""

from __future__ import annotations

from flask import Flask

from incidents.web import auth, errors, evidence, incidents, people, security


def register_web(app: Flask) -> None:
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(incidents.blueprint)
    evidence.init_app(app)
    app.register_blueprint(evidence.blueprint)
    app.register_blueprint(people.blueprint)
