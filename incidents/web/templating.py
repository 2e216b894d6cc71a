"""What every template may use without a view passing it: vocabulary labels, the
Admiralty scales, the main navigation and `may(permission)`, the demo-account banner, sizes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from flask_login import current_user

from incidents.models import vocabularies
from incidents.models.vocabularies import CREDIBILITY_LABELS, RELIABILITY_LABELS, label
from incidents.permissions import Permission, can, permissions_of
from incidents.services import two_factor
from incidents.services.evidence.policy import human_size
from incidents.web.boundary import settings
from incidents.web.retention_notice import retention_notice


@dataclass(frozen=True)
class NavigationEntry:
    """One link of the main navigation: shown only to whoever holds `permission`, and
    marked as the current page on every endpoint starting with one of `active`."""

    endpoint: str
    label: str
    permission: Permission
    active: tuple[str, ...]

    def is_current(self, endpoint: str | None) -> bool:
        return endpoint is not None and endpoint.startswith(self.active)


# The main navigation, in order: the one place that says which areas exist and who may
# open them, so that no role is shown a link that answers 403 (tests/web/test_navigation.py).
NAVIGATION: tuple[NavigationEntry, ...] = (
    NavigationEntry(
        "incidents.list_incidents", "Incidents", Permission.CASE_READ, ("incidents.", "acts.")
    ),
    NavigationEntry("reports.list_reports", "Reports", Permission.FIELDS_RESTRICTED, ("reports.",)),
    NavigationEntry("sources.list_sources", "Sources", Permission.FIELDS_RESTRICTED, ("sources.",)),
    NavigationEntry("people.search", "People", Permission.FIELDS_SECRET, ("people.",)),
    NavigationEntry("advocacy.list_actions", "Advocacy", Permission.ADVOCACY_READ, ("advocacy.",)),
    NavigationEntry("triage.queue", "Triage", Permission.CASE_WRITE, ("triage.",)),
    NavigationEntry("reviews.queue", "Erasure reviews", Permission.CASE_WRITE, ("reviews.",)),
    NavigationEntry("dashboard.show", "Dashboard", Permission.ADVOCACY_READ, ("dashboard.",)),
    NavigationEntry("summaries.all_summaries", "Summaries", Permission.CASE_READ, ("summaries.",)),
    NavigationEntry("audit.log", "Audit", Permission.AUDIT_READ, ("audit.",)),
    NavigationEntry("admin.users", "Admin", Permission.USERS_MANAGE, ("admin.",)),
)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        label=label,
        credibility_labels=CREDIBILITY_LABELS,
        reliability_labels=RELIABILITY_LABELS,
        navigation=NAVIGATION,
        choices_of=choices_of,
        retention_notice=retention_notice,
    )
    app.add_template_filter(human_size, "filesize")
    app.context_processor(_per_request)


def choices_of(vocabulary: str) -> list[tuple[str, str]]:
    """A vocabulary's values with their labels, for a filter: `choices_of("ReportStatus")`."""
    if vocabulary == "credibility":
        return [(str(n), f"{n} — {text}") for n, text in CREDIBILITY_LABELS.items()]
    if vocabulary == "reliability":
        return [(grade, f"{grade} — {text}") for grade, text in RELIABILITY_LABELS.items()]
    return [(v.value, label(v)) for v in getattr(vocabularies, vocabulary)]


def _per_request() -> dict[str, Any]:
    """`may("users:manage")` for navigation, and whether to show the demo-account banner.

    Navigation only hides links; every service checks the permission itself.
    """

    def may(permission: str) -> bool:
        if not current_user.is_authenticated:
            return False
        if current_user.under_duress:
            # A duress session shows the links its roles would show: the pages answer
            # with nothing (or refuse), and the layout does not give the session away.
            return Permission(permission) in permissions_of(current_user.role_set)
        return can(current_user, Permission(permission))

    configured = settings()
    demo_account = (
        bool(current_user.is_authenticated)
        and configured.require_two_factor
        and not current_user.has_two_factor
        and two_factor.is_exempt(current_user, configured.is_production)
    )
    return {
        "may": may,
        "demo_account_banner": demo_account,
        # Where the quick exit in the header lands (incidents/web/auth/exit.py).
        "quick_exit_target": configured.quick_exit_url or url_for("auth.neutral_page"),
    }
