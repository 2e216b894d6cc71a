"""A user's own account: password, second factor, recovery codes, open sessions."""

from incidents.web.account.views import blueprint

__all__ = ["blueprint"]
