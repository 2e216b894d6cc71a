"""The server-rendered web interface: blueprints per area, deny by default."""

from __future__ import annotations

from flask import Flask

from incidents.web import auth, errors, incidents, security


def register_web(app: Flask) -> None:
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(incidents.blueprint)
