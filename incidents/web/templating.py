"""What every template may use without a view passing it: vocabulary labels, the
Admiralty scales, `may(permission)` for navigation, the demo-account banner, sizes."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from incidents.models.vocabularies import CREDIBILITY_LABELS, RELIABILITY_LABELS, label
from incidents.permissions import Permission, can
from incidents.services import two_factor
from incidents.services.evidence.policy import human_size
from incidents.web.boundary import settings


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        label=label,
        credibility_labels=CREDIBILITY_LABELS,
        reliability_labels=RELIABILITY_LABELS,
    )
    app.add_template_filter(human_size, "filesize")
    app.context_processor(_per_request)


def _per_request() -> dict[str, Any]:
    """`may("users:manage")` for navigation, and whether to show the demo-account banner.

    Navigation only hides links; every service checks the permission itself.
    """

    def may(permission: str) -> bool:
        return bool(current_user.is_authenticated) and can(current_user, Permission(permission))

    configured = settings()
    demo_account = (
        bool(current_user.is_authenticated)
        and configured.require_two_factor
        and not current_user.has_two_factor
        and two_factor.is_exempt(current_user, configured.is_production)
    )
    return {"may": may, "demo_account_banner": demo_account}
