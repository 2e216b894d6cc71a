"""People pages, for researchers."""

from incidents.web.people.views import blueprint

__all__ = ["blueprint"]
