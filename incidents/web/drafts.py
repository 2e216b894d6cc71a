"""Nothing typed is lost when a session ends: the web half of incidents/services/drafts.py.

A form opts in by being a `DraftForm` (the record forms are) and by being posted to
the URL of its own page. Its page then carries, among its hidden fields, the signed
names of the fields that may be kept: never the CSRF token, a password or a file.

When such a form arrives from a browser whose session has timed out,
`keep_typing_of_ended_session` keeps those fields as the draft of the session's user
and sends the browser to log in, with the form's page to go back to. It runs before the
CSRF check, since the token of a long-open page may have expired with the session; it
keeps a draft only when the token was issued to this browser's cookie, however old. After
the password and the second factor, the page's DraftForm finds the draft, is filled in
with it and says so. Nothing typed goes into the cookie, the URL or a log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadData, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import Field, FileField, HiddenField, PasswordField, SubmitField, ValidationError
from wtforms.csrf.core import CSRFTokenField

from incidents.services import drafts
from incidents.web.boundary import SESSION_TOKEN_KEY, context
from incidents.web.security import SESSION_ENDED

MARKER = "draft_fields"
RESTORED_NOTICE = "What you typed before your session ended was kept; check it and save."
KEPT_NOTICE = "What you typed was kept: log in again and it will be back in the form."
_MARKER_SALT = "incidents/draft-fields"
# A page left open over a weekend still keeps what was typed on it: this bounds only how
# old a form's CSRF token may be for its fields to be kept, never what the form may do.
FORM_AGE_LIMIT = timedelta(days=7)
NEVER_KEPT: tuple[type[Field], ...] = (CSRFTokenField, PasswordField, FileField, SubmitField)


class DraftForm(FlaskForm):  # type: ignore[misc]
    """A form whose typing survives the end of its session.

    Shown by a GET to a logged-in user who has a draft of this page, it is filled in with
    the draft (which is deleted) instead of its defaults, `draft_restored` is True and the
    page says so; a view that fills the form from a stored record does that only when
    `draft_restored` is False. `draft_excluded` names further fields never to keep.
    """

    draft_fields = HiddenField()
    draft_excluded: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        restored = None
        if not args and "formdata" not in kwargs and _may_restore():
            restored = drafts.restore(context(), request.path)
        if restored is not None:
            kwargs["formdata"] = MultiDict(restored)
        super().__init__(*args, **kwargs)
        self.draft_restored = restored is not None
        self.draft_fields.data = _marker_serializer().dumps(sorted(self.keepable_names()))
        if self.draft_restored:
            flash(RESTORED_NOTICE, "info")

    def keepable_names(self) -> set[str]:
        """The names (as posted) of the fields a draft of this form may hold."""
        return {
            field.name
            for short_name, field in self._fields.items()
            if short_name != MARKER
            and short_name not in self.draft_excluded
            and not isinstance(field, NEVER_KEPT)
        }


def _may_restore() -> bool:
    return request.method == "GET" and bool(current_user.is_authenticated)


def _marker_serializer() -> URLSafeSerializer:
    secret_key: str = current_app.config["SECRET_KEY"]
    return URLSafeSerializer(secret_key, salt=_MARKER_SALT)


def signed_names(marker: str | None) -> frozenset[str]:
    """The field names a page's marker allows to keep; none for a marker not made here."""
    if not marker:
        return frozenset()
    try:
        names = _marker_serializer().loads(marker)
    except BadData:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return frozenset()
    return frozenset(names)


def fields_to_keep() -> list[tuple[str, str]]:
    """What the posted form holds of the fields its marker allows (a list of fields, as
    `aliases-0`, belongs to its field), in the order sent; files are never read."""
    names = signed_names(request.form.get(MARKER))
    return [
        (key, value)
        for key in request.form
        if key != MARKER and any(key == name or key.startswith(f"{name}-") for name in names)
        for value in request.form.getlist(key)
    ]


def _token_issued_to_this_browser() -> bool:
    """Whether the form's CSRF token was made for this cookie's session, however old (read
    before the login check clears the cookie of an ended session)."""
    field_name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    try:
        validate_csrf(request.form.get(field_name), time_limit=int(FORM_AGE_LIMIT.total_seconds()))
    except ValidationError:
        return False
    return True


def _is_form_page() -> bool:
    rule = request.url_rule
    return rule is not None and "GET" in (rule.methods or ())


def keep_typing_of_ended_session() -> Response | None:
    """Before anything else: a form sent by a browser whose session has ended is kept as a
    draft when it may be, and the browser is sent to log in (as any request of an ended
    session is)."""
    if request.method != "POST" or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    session_token = session.get(SESSION_TOKEN_KEY)
    if getattr(view, "is_public", False) or not session_token:
        return None
    sent_from_here = _is_form_page() and _token_issued_to_this_browser()
    if current_user.is_authenticated or not g.get("session_ended"):
        return None  # a live session: the CSRF and login checks go on as usual
    kept = None
    if sent_from_here:
        fields = fields_to_keep()
        if fields:
            kept = drafts.keep(context(), session_token, request.path, fields)
    flash(SESSION_ENDED, "info")
    if kept is None:
        return redirect(url_for("auth.login"))
    flash(KEPT_NOTICE, "info")
    return redirect(url_for("auth.login", next=request.path))


def init_app(app: Flask) -> None:
    # First of all the request hooks, ahead of Flask-WTF's CSRF check, which would refuse
    # an ended session's form before anything could keep it.
    app.before_request_funcs.setdefault(None, []).insert(0, keep_typing_of_ended_session)
