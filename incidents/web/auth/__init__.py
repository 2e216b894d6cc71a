"""Logging in and out, and confirming the password again."""

from incidents.web.auth.views import blueprint

__all__ = ["blueprint"]
