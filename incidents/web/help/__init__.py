"""The Help page: the Researcher's guide, with its screenshots, for every logged-in user."""

from incidents.web.help.views import blueprint

__all__ = ["blueprint"]
