"""The parts of an incident recorded on their own pages: acts (what was done to whom),
their perpetrators, and the official responses."""

from incidents.web.acts.views import blueprint

__all__ = ["blueprint"]
