"""Source pages: the list, a source, and its new and edit forms."""

from incidents.web.sources.views import blueprint

__all__ = ["blueprint"]
