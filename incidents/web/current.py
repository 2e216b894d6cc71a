"""The logged-in user, their server-side session, and the per-request helpers views share."""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user

from incidents.audit.log import Actor
from incidents.crypto.vault import FieldVault
from incidents.extensions import db, key_provider, login_manager
from incidents.models.user import User, UserSession
from incidents.services import sessions
from incidents.settings import Settings

SESSION_TOKEN_KEY = "sid"  # noqa: S105 (the name of a cookie-session entry)


def settings() -> Settings:
    value: Settings = current_app.config["INCIDENTS_SETTINGS"]
    return value


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


def actor() -> Actor:
    user = current_account()
    return Actor(user.email, user.id)


def vault() -> FieldVault:
    return FieldVault(db.session, key_provider())


def begin_session(user: User) -> None:
    """Log `user` in on this browser with a new session id; the caller commits.

    Nothing from before login survives it (session fixation), and the token in the
    cookie is new, so a token seen before login is worth nothing after it.
    """
    session.clear()
    token, row = sessions.start_session(db.session, user, request.headers.get("User-Agent", ""))
    session[SESSION_TOKEN_KEY] = token
    g.user_session = row
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
        row = sessions.resolve_session(db.session, token, session_policy())
        if db.session.dirty:
            db.session.commit()  # only session bookkeeping has changed so far
        if row is None:
            if token:
                session.clear()
                g.session_ended = True
            return None
        g.user_session = row
        return row.user
