"""Advocacy pages: actions and campaigns, and on each action its responses, follow-ups
and links to reports."""

from incidents.web.advocacy import actions, work  # noqa: F401 — their routes
from incidents.web.advocacy.blueprint import blueprint

__all__ = ["blueprint"]
