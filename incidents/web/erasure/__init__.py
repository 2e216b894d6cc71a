"""Erasing a record from the web."""

from incidents.web.erasure.views import blueprint

__all__ = ["blueprint"]
