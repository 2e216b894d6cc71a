"""Erasure review pages: the queue of records whose consent to be kept was withdrawn,
and the decision on each (erase it, or keep it with a justification)."""

from incidents.web.reviews.views import blueprint

__all__ = ["blueprint"]
