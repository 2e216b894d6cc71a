"""People pages, for researchers."""

from incidents.web.people import editing, merging, related  # noqa: F401  (their routes join it)
from incidents.web.people.views import blueprint

__all__ = ["blueprint"]
