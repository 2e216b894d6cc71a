"""Logging in and out, the quick exit, and confirming the password again."""

from incidents.web.auth import exit  # noqa: F401 (its routes join the blueprint)
from incidents.web.auth.views import blueprint

__all__ = ["blueprint"]
