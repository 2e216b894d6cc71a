"""What the password is confirmed for, and the way back from confirming it, read from the
page the confirmation leads on to (the `next` of /reauthenticate).

The way back is made from the application's own routes, so it stays on this site, and it
never leads to a page that asks for the password itself (which would only come back here).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, request, url_for
from werkzeug.exceptions import HTTPException

from incidents.records.kinds import kind_of_reference
from incidents.web.record_pages import record_page

# endpoint -> (what the confirmation is for, the endpoint of the way back)
_OPERATIONS = {
    "admin.new_user": ("create a user account", "admin.users"),
    "admin.user_detail": ("change a user's account", "admin.users"),
    "admin.new_team": ("create a team", "admin.teams"),
    "account.two_factor_setup": ("change your second factor", "account.overview"),
    "account.duress_password": ("set your duress password", "account.overview"),
    "account.new_api_token": ("make an API token", "account.overview"),
    "exports.export_page": ("export every field decrypted", "exports.export_page"),
}


@dataclass(frozen=True)
class Operation:
    name: str | None  # "erase person PER-0003"; None when the page names no operation
    back: str  # a path on this site


def operation_for(target: str | None) -> Operation:
    """The operation that the page `target` (a path on this site) performs."""
    home = url_for("incidents.index")
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        # A redirect (a missing slash) or no route at all: no operation to name.
        endpoint, values = adapter.match(urlsplit(target or "").path, method="GET")
    except HTTPException:
        return Operation(None, home)
    if endpoint == "erasure.erase":
        reference = str(values["reference"])
        kind = kind_of_reference(reference).label
        return Operation(f"erase {kind} {reference}", record_page(reference) or home)
    if endpoint in _OPERATIONS:
        name, back = _OPERATIONS[endpoint]
        return Operation(name, url_for(back))
    return Operation(None, home)
