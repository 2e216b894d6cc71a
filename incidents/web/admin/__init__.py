"""Administration: users, their roles and teams, teams, and retention rules and holds."""

from incidents.web.admin import retention as _retention_pages  # noqa: F401 (its routes)
from incidents.web.admin.views import blueprint

__all__ = ["blueprint"]
