"""The server-rendered web interface: blueprints per area, deny by default."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from incidents.permissions import Permission, can
from incidents.services import two_factor
from incidents.web import (
    account,
    admin,
    audit,
    auth,
    erasure,
    errors,
    evidence,
    incidents,
    people,
    security,
)
from incidents.web.current import settings as current_settings


def register_web(app: Flask) -> None:
    security.init_app(app)
    app.context_processor(_template_helpers)
    errors.init_app(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(account.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(incidents.blueprint)
    evidence.init_app(app)
    app.register_blueprint(evidence.blueprint)
    app.register_blueprint(people.blueprint)
    app.register_blueprint(audit.blueprint)
    app.register_blueprint(erasure.blueprint)


def _template_helpers() -> dict[str, Any]:
    """`may("users:manage")` for navigation, and whether to show the demo-account banner.

    Navigation only hides links; every view checks the permission itself.
    """

    def may(permission: str) -> bool:
        return bool(current_user.is_authenticated) and can(current_user, Permission(permission))

    settings = current_settings()
    demo_account = (
        bool(current_user.is_authenticated)
        and settings.require_two_factor
        and not current_user.has_two_factor
        and two_factor.is_exempt(current_user, settings.is_production)
    )
    return {"may": may, "demo_account_banner": demo_account}
