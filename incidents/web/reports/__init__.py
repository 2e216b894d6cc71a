"""Report pages: the list, a report, and its new and edit forms."""

from incidents.web.reports.views import blueprint

__all__ = ["blueprint"]
