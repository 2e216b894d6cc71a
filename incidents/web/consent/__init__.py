"""Consent pages: recording what a person or a source agreed to, and withdrawing it."""

from incidents.web.consent.views import blueprint

__all__ = ["blueprint"]
