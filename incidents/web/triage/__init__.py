"""The triage page, for researchers."""

from incidents.web.triage.views import blueprint

__all__ = ["blueprint"]
