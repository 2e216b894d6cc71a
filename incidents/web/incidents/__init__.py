"""Incident pages: the list and one incident."""

from incidents.web.incidents import related  # noqa: F401  (its route joins the blueprint)
from incidents.web.incidents.views import blueprint, render_incident

__all__ = ["blueprint", "render_incident"]
