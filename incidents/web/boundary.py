"""Where a request meets the services: its call context, its unit of work, the logged-in
user and their server-side session.

One context per request, built on first use; one unit of work per request, committed by
the application (incidents/web/application.py) once the view has answered — before the
cookie is saved and a byte is sent — and rolled back when the request fails. Views never
commit. A call to the JSON API acts for the user of its bearer token or for nobody, and
never for a cookie's login (`act_through_token`).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request, session
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import SessionTransaction

from incidents.context import Context
from incidents.extensions import db, evidence_store, key_provider, login_manager
from incidents.models.user import User, UserSession
from incidents.services import sessions
from incidents.settings import Settings

SESSION_TOKEN_KEY = "sid"  # noqa: S105 (the name of a cookie-session entry)
API_CALL = "api_call"  # set in `g` for a call to the JSON API: no cookie is read


def settings() -> Settings:
    value: Settings = current_app.config["INCIDENTS_SETTINGS"]
    return value


def context() -> Context:
    """The call context of this request, acting for whoever is logged in (or nobody); for
    an API call, for the user of its token once checked (or nobody)."""
    if g.get(API_CALL):
        return api_context()
    built: Context | None = g.get("context")
    principal = current_account() if current_user.is_authenticated else None
    if built is None:
        built = g.context = _build(principal)
    elif built.principal is not principal:  # logged in or out during this request
        built = g.context = built.acting_as(principal)
    return built


def _build(principal: User | None) -> Context:
    return Context.build(db.session, key_provider(), evidence_store(), settings(), principal)


def api_context() -> Context:
    """The context of a call to the JSON API: acting for nobody until its token is checked.
    From the first call on, this request never reads a cookie's login (so the API needs
    no CSRF token: a browser's cookies give a forged request nothing)."""
    if not g.get(API_CALL):
        setattr(g, API_CALL, True)
        g.context = _build(principal=None)  # whatever a cookie's login built is not used
    built: Context = g.context
    return built


def act_through_token(user: User) -> Context:
    """This API call acts for `user`, loaded with their token's grant attached
    (services/api_tokens.authenticate); `context()` returns this context from now on."""
    built = g.context = api_context().acting_as(user)
    return built


def finish() -> None:
    """The request succeeded: commit what it did (the application calls this)."""
    if db.has_session() and not g.get("discarded"):
        db.session.commit()


def discard() -> None:
    """The request failed: roll back what it did; the error page writes nothing."""
    g.discarded = True
    if db.has_session():
        db.session.rollback()


def on_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def start_over() -> None:
    """Forget everything this request did, to run it once more from the start: its
    database session rolled back and closed, `g` emptied (the login, the call context),
    and the cookie session and its messages as the browser sent them."""
    discard()
    if db.has_session():
        g.pop("db_session").close()
    for name in list(vars(g)):
        delattr(g, name)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    as_sent = app.session_interface.open_session(app, request)
    session.clear()
    session.update(as_sent or {})
    request_ctx.flashes = None


def abandon() -> None:
    """The request's commit failed: nothing it did happened, so the browser keeps its
    cookie as it was and hears none of what the view said it had done."""
    discard()
    g.keep_cookie = True
    session.pop("_flashes", None)
    request_ctx.flashes = None  # flashes the view's page may already have read


class Cookies(SecureCookieSessionInterface):
    """Flask's signed cookie session, left unsaved by a request whose commit failed."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not g.get("keep_cookie"):
            super().save_session(app, session, response)


def attempt() -> SessionTransaction:
    """A savepoint for one service call (use it as `with attempt():`): a refused form's
    partial writes are undone, and what the request did before (a failed login's audit
    event) stays."""
    return db.session.begin_nested()


def session_policy() -> sessions.SessionPolicy:
    s = settings()
    return sessions.SessionPolicy.from_minutes(
        s.session_idle_minutes, s.session_absolute_hours, s.reauth_minutes
    )


def current_account() -> User:
    """The User behind current_user (views run after the login check)."""
    user: User = current_user._get_current_object()
    return user


def current_session() -> UserSession:
    """The server-side session of this request (views run after the login check)."""
    row: UserSession = g.user_session
    return row


def begin_session(user: User, duress: bool = False) -> None:
    """Log `user` in on this browser with a new session id (a duress session: opened
    with the duress password, incidents/services/duress.py).

    Nothing from before login survives it (session fixation), and the token in the
    cookie is new, so a token seen before login is worth nothing after it.
    """
    duress = duress or user.under_duress  # a duress session starting afresh stays one
    session.clear()
    user_agent = request.headers.get("User-Agent", "")
    token, row = sessions.start_session(context(), user, user_agent, duress=duress)
    session[SESSION_TOKEN_KEY] = token
    g.user_session = row
    if duress:
        user.act_under_duress()
    login_user(user)


def end_browser_session() -> None:
    """Forget the login in this browser (the row is ended by the caller)."""
    logout_user()
    session.clear()
    g.pop("user_session", None)


def init_login() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(_user_id: str) -> User | None:
        """The user of the open server-side session named by the cookie, else nobody.

        A session that has timed out is ended here and the browser is logged out.
        """
        token = session.get(SESSION_TOKEN_KEY)
        anonymous = _build(principal=None)
        row = sessions.resolve_session(anonymous, token, session_policy())
        if db.session.dirty:
            # The session's bookkeeping (ended when timed out, last seen refreshed) is a
            # unit of its own: it stands whatever the rest of the request does.
            db.session.commit()
        if row is None:
            if token:
                session.clear()
                g.session_ended = True
            return None
        g.user_session = row
        if row.duress:
            # Every request of a duress session marks its user here: from now on, for
            # this request, they belong to no team (models/user.py, permissions.py).
            row.user.act_under_duress()
        return row.user
