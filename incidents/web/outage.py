"""The page of a request that could not be saved for an outage — the database unreachable
(503) or its disk full (507) — in the layout, with what was typed.

A form sent during an outage cannot be kept as a draft (drafts live in the database), so
the page itself carries it back: the fields its page marked keepable
(`drafts.fields_to_keep`, never a password, a token or a file) are shown again in a form
that sends them, with the form's own CSRF token, to where they were going. Nothing is
saved anywhere in between; the browser holds the text as it did before sending it.
"""

from __future__ import annotations

from flask import g, render_template, request
from flask.typing import ResponseReturnValue

from incidents.extensions import login_manager
from incidents.outages import RETRY_AFTER_SECONDS
from incidents.web.drafts import MARKER, fields_to_keep

INSUFFICIENT_STORAGE = 507  # RFC 4918: the server has no room for the request
# Hidden fields of the record forms that carry the form's state, not typing: sent back as
# they came, so that a save sent again is checked against the version that was opened.
FORM_STATE = frozenset({"lock_version", "opened", "report"})
UNREACHABLE = (
    "The database is not answering",
    "Nothing you saved before is lost, but what you just sent was not saved. "
    "Try again in a minute; if it goes on, tell your administrator.",
)
DISK_FULL = (
    "The server's disk is full",
    "Not enough disk space to save what you sent, so nothing of it was saved; nothing "
    "you saved before is lost. Tell your administrator, who can free some space.",
)


def database_unreachable_page() -> ResponseReturnValue:
    """503 for a request that lost the database, with the typed fields to send again."""
    title, message = UNREACHABLE
    body = _page(503, title, message)
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def disk_full_page() -> ResponseReturnValue:
    """507 for a request whose writes found no room, with the typed fields to send again."""
    title, message = DISK_FULL
    return _page(INSUFFICIENT_STORAGE, title, message), INSUFFICIENT_STORAGE


def _page(status: int, title: str, message: str) -> str:
    # The request's session was rolled back, expiring the user it had loaded: the page
    # shows no account menu rather than ask the database again from inside the error page.
    g._login_user = login_manager.anonymous_user()
    kept = fields_to_keep() if request.method == "POST" else []
    return render_template(
        "errors/unavailable.html",
        status=status,
        title=title,
        message=message,
        typed=[(name, value) for name, value in kept if name not in FORM_STATE and value.strip()],
        state=[(name, value) for name, value in kept if name in FORM_STATE],
        marker=request.form.get(MARKER, "") if kept else "",
        csrf_value=request.form.get("csrf_token", "") if kept else "",
        action=request.path,
    )
