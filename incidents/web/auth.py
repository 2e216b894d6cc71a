"""Logging in (password, then the second factor), logging out, and confirming the
password again before a sensitive operation.

Throttling (SECURITY 21): failed attempts are counted per account and per network
address, shared by the password step, the second-factor step and re-authentication.
Only failures count, and the answer to a throttled attempt is the same whether or not
the account exists.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.extensions import db, limiter
from incidents.models.user import User
from incidents.services import accounts, sessions, two_factor
from incidents.web.current import (
    begin_session,
    current_account,
    current_session,
    end_browser_session,
    settings,
    vault,
)
from incidents.web.forms import LoginForm, LogoutForm, ReauthenticateForm, SecondFactorForm
from incidents.web.security import allowed_before_enrolment, public

blueprint = Blueprint("auth", __name__)

FAILED_LOGIN = "E-mail or password is not right."
FAILED_CODE = "That code is not right, or it has been used already."
FAILED_REAUTH = "The password or code is not right."
PENDING_KEY = "pending_login"
# The password step is good for this long while the second factor is entered.
PENDING_SECONDS = 300


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("incidents.index")


def _account_key() -> str:
    """Who the attempt is for: the e-mail typed, the pending login, or the logged-in user.

    An e-mail with no account is counted exactly like one with an account.
    """
    if request.endpoint == "auth.login":
        email = request.form.get("email", "")
    elif request.endpoint == "auth.verify":
        email = (session.get(PENDING_KEY) or {}).get("email", "")
    else:
        email = current_user.email if current_user.is_authenticated else ""
    return "account:" + accounts.normalise_email(email)[:254]


def _address_key() -> str:
    return "address:" + (get_remote_address() or "unknown")


def _failed(response: Response) -> bool:
    return response.status_code == 401


per_account = limiter.shared_limit(
    lambda: settings().login_limit_per_account,
    scope="login-account",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
per_address = limiter.shared_limit(
    lambda: settings().login_limit_per_address,
    scope="login-address",
    key_func=_address_key,
    methods=["POST"],
    deduct_when=_failed,
)


def _complete_login(user: User, second_factor: str | None, target: str | None) -> Response:
    accounts.record_login_success(db.session, user, second_factor)
    begin_session(user)
    db.session.commit()
    return redirect(_safe_next(target))


@blueprint.route("/login", methods=["GET", "POST"])
@public
@per_account
@per_address
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("incidents.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is None:
            accounts.record_login_failure(db.session)
            db.session.commit()
            flash(FAILED_LOGIN, "error")
            return render_template("auth/login.html", form=form), 401
        target = request.args.get("next")
        if user.has_two_factor:
            db.session.commit()  # a password rehash, if one was due
            session.clear()
            session[PENDING_KEY] = {
                "user": str(user.id),
                "email": user.email,
                "at": time.time(),
                "next": target,
            }
            return redirect(url_for("auth.verify"))
        return _complete_login(user, None, target)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = accounts.user_by_id(db.session, pending.get("user"))
    return user if user is not None and user.is_active and user.has_two_factor else None


@blueprint.route("/login/verify", methods=["GET", "POST"])
@public
@per_account
@per_address
def verify() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("incidents.index"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        if two_factor.verify_code(db.session, vault(), user, code):
            kind = "totp" if code.strip().replace(" ", "").isdigit() else "recovery-code"
            return _complete_login(user, kind, session[PENDING_KEY].get("next"))
        accounts.record_login_failure(db.session, user, step="second-factor")
        db.session.commit()
        flash(FAILED_CODE, "error")
        return render_template("auth/verify.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/verify.html", form=form), status


@blueprint.route("/logout", methods=["POST"])
@allowed_before_enrolment
def logout() -> Response:
    form = LogoutForm()
    if form.validate_on_submit():
        user = current_account()
        accounts.log_out(db.session, user)
        # Every session of the user ends, not only this browser's (SECURITY 18, README).
        sessions.end_all_sessions(db.session, user, sessions.EndReason.LOGOUT)
        db.session.commit()
        end_browser_session()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/reauthenticate", methods=["GET", "POST"])
@allowed_before_enrolment
@per_account
@per_address
def reauthenticate() -> str | Response | tuple[str, int]:
    user = current_account()
    form = ReauthenticateForm()
    if not user.has_two_factor:
        del form.code
    if form.validate_on_submit():
        password_ok = accounts.check_password(db.session, user, form.password.data or "")
        # The code is checked only after the password, so a wrong password spends no code.
        if password_ok and (
            not user.has_two_factor
            or two_factor.verify_code(db.session, vault(), user, form.code.data or "")
        ):
            sessions.confirm(current_session())
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        accounts.record_login_failure(db.session, user, step="reauthentication")
        db.session.commit()
        flash(FAILED_REAUTH, "error")
        return render_template("auth/reauthenticate.html", form=form), 401
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reauthenticate.html", form=form), status
