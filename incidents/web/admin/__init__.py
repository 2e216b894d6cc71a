"""Administration: users, their roles and teams, and teams."""

from incidents.web.admin.views import blueprint

__all__ = ["blueprint"]
