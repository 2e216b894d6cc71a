"""A user's own account: password, duress password, second factor, recovery codes, open
sessions, API tokens."""

from incidents.web.account import duress, tokens  # noqa: F401 (their routes join the blueprint)
from incidents.web.account.views import blueprint

__all__ = ["blueprint"]
