"""Auditor pages: the log, an incident's provenance, verify now."""

from incidents.web.audit.views import blueprint

__all__ = ["blueprint"]
