"""A user's own account: password, second factor, recovery codes, open sessions, API
tokens."""

from incidents.web.account import tokens  # noqa: F401 (its routes join the blueprint)
from incidents.web.account.views import blueprint

__all__ = ["blueprint"]
