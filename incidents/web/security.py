"""Deny-by-default login requirement and the security headers on every response."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, redirect, request, url_for
from flask_login import current_user

from incidents.extensions import login_manager
from incidents.services import sessions, two_factor
from incidents.web.boundary import current_session, session_policy, settings

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# A file handed out as an attachment (evidence) is never a page: should a browser open it
# anyway, it may load nothing and run nothing, in a sandbox of its own.
ATTACHMENT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
SESSION_ENDED = "Your session has ended. Please log in again."


def public(view: F) -> F:
    """Mark a view as reachable without logging in (the exceptions to deny-by-default)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def allowed_before_enrolment(view: F) -> F:
    """Mark a view a logged-in user may use before setting up a required second factor."""
    view.before_enrolment = True  # type: ignore[attr-defined]
    return view


def recent_login_required(view: F) -> F:
    """Sensitive operations ask for the password again when the last entry is old.

    A GET is sent on to the confirmation page and back. A POST whose confirmation has
    run out is sent back to its page — its own URL when it has a GET, else the page named
    by the form's `back` field — which says to repeat the action: the forms that need
    this are a few fields.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if sessions.recently_confirmed(current_session(), session_policy()):
            return view(*args, **kwargs)
        if request.method == "GET":
            target = request.full_path.rstrip("?")
        else:
            has_page = request.url_rule is not None and "GET" in (request.url_rule.methods or ())
            # A button's form names the page it is on: the Referer is not relied on.
            target = request.path if has_page else safe_next_path(request.form.get("back"))
            flash("Confirm your password, then repeat what you were doing.", "info")
        return redirect(url_for("auth.reauthenticate", next=target))

    return wrapper  # type: ignore[return-value]


def safe_next_path(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page (no open redirect); a
    target with control characters or spaces (header splitting) is not followed either."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(c.isprintable() and not c.isspace() for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("incidents.index")


def _require_login() -> Any:
    if request.endpoint is None:  # 404s are answered by the error handler
        return None
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint == "static" or getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        if g.get("session_ended"):
            flash(SESSION_ENDED, "info")
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target))
        return login_manager.unauthorized()
    if getattr(view, "before_enrolment", False):
        return None
    configured = settings()
    if two_factor.needs_enrolment(
        current_user, configured.require_two_factor, configured.is_production
    ):
        flash("Set up two-factor authentication to continue.", "info")
        return redirect(url_for("account.two_factor_setup"))
    return None


def _add_headers(response: Response) -> Response:
    headers = response.headers
    attachment = headers.get("Content-Disposition", "").startswith("attachment")
    headers["Content-Security-Policy"] = (
        ATTACHMENT_CONTENT_SECURITY_POLICY if attachment else CONTENT_SECURITY_POLICY
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Same-origin: no other site learns which page linked to it, and over HTTPS the CSRF
    # check can compare the Referer of every POST with this site (Flask-WTF refuses a
    # secure POST without one, which "no-referrer" would make every POST).
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if settings().is_production:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static":
        # Nothing a case worker sees may linger in a shared browser's cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_require_login)
    app.after_request(_add_headers)
