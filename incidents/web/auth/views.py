"""Logging in (password, then the second factor), logging out, and confirming the
password again before a sensitive operation.

Attempts are throttled per account and per network address, counted together across
the password step, the second-factor step and re-authentication (incidents/web/throttling.py).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from limits.errors import StorageError
from werkzeug.wrappers import Response

from incidents.models.user import User
from incidents.services import authentication, duress, sessions, two_factor
from incidents.web.auth.forms import LoginForm, LogoutForm, ReauthenticateForm, SecondFactorForm
from incidents.web.auth.operations import operation_for
from incidents.web.boundary import (
    begin_session,
    context,
    current_session,
    end_browser_session,
)
from incidents.web.forms import OK, REFUSED
from incidents.web.security import allowed_before_enrolment, public, safe_next_path
from incidents.web.throttling import (
    PENDING_LOGIN_KEY,
    per_account,
    per_address,
    store_unreachable_page,
)

blueprint = Blueprint("auth", __name__)
# Every page that counts attempts (these, the password change) refuses them alike while
# the limiter's store is unreachable; the API answers its own problem instead.
blueprint.app_errorhandler(StorageError)(store_unreachable_page)

FAILED_LOGIN = "E-mail or password is not right."
FAILED_CODE = "That code is not right, or it has been used already."
FAILED_REAUTH = "The password or code is not right."


def _status(form: LoginForm | SecondFactorForm | ReauthenticateForm) -> int:
    return REFUSED if form.is_submitted() else OK


def _complete_login(
    user: User, second_factor: str | None, target: str | None, under_duress: bool = False
) -> Response:
    """Both passwords end here alike, so the browser sees the same answer."""
    if under_duress:
        duress.record_duress_login(context(), user, second_factor)
    else:
        authentication.record_login_success(context(), user, second_factor)
    begin_session(user, duress=under_duress)
    return redirect(safe_next_path(target))


@blueprint.route("/login", methods=["GET", "POST"])
@public
@per_account
@per_address
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("incidents.index"))
    form = LoginForm()
    if form.validate_on_submit():
        ctx = context()
        passed = authentication.check_login(ctx, form.email.data or "", form.password.data or "")
        if passed is None:
            authentication.record_login_failure(ctx)
            flash(FAILED_LOGIN, "error")
            return render_template("auth/login.html", form=form), 401
        user = passed.user
        target = request.args.get("next")
        if user.has_two_factor:
            session.clear()
            session[PENDING_LOGIN_KEY] = authentication.start_pending_login(
                user, target, duress=passed.duress
            )
            return redirect(url_for("auth.verify"))
        return _complete_login(user, None, target, passed.duress)
    return render_template("auth/login.html", form=form), _status(form)


@blueprint.route("/login/verify", methods=["GET", "POST"])
@public
@per_account
@per_address
def verify() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("incidents.index"))
    pending = session.get(PENDING_LOGIN_KEY)
    user = authentication.pending_login(context(), pending)
    if user is None:
        session.pop(PENDING_LOGIN_KEY, None)
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        kind = two_factor.verify_code(context(), user, form.code.data or "")
        if kind is not None:
            under_duress = authentication.pending_is_duress(user, pending)
            target = session[PENDING_LOGIN_KEY].get("next")
            return _complete_login(user, kind.value, target, under_duress)
        authentication.record_login_failure(context(), user, step="second-factor")
        flash(FAILED_CODE, "error")
        return render_template("auth/verify.html", form=form), 401
    return render_template("auth/verify.html", form=form), _status(form)


@blueprint.route("/logout", methods=["POST"])
@allowed_before_enrolment
def logout() -> Response:
    form = LogoutForm()
    if form.validate_on_submit():
        ctx = context()
        authentication.log_out(ctx)
        # Every session of the user ends, not only this browser's (security check 18).
        sessions.end_all_sessions(ctx, ctx.user, sessions.EndReason.LOGOUT)
        end_browser_session()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/reauthenticate", methods=["GET", "POST"])
@allowed_before_enrolment
@per_account
@per_address
def reauthenticate() -> str | Response | tuple[str, int]:
    ctx = context()
    user = ctx.user
    form = ReauthenticateForm()
    if not user.has_two_factor:
        del form.code
    target = safe_next_path(request.args.get("next"))
    operation = operation_for(target)
    if form.validate_on_submit():
        password_ok = authentication.check_password(ctx, form.password.data or "")
        # The code is checked only after the password, so a wrong password spends no code.
        if password_ok and (
            not user.has_two_factor or two_factor.verify_code(ctx, user, form.code.data or "")
        ):
            sessions.confirm(current_session())
            return redirect(target)
        authentication.record_login_failure(ctx, user, step="reauthentication")
        flash(FAILED_REAUTH, "error")
        return render_template("auth/reauthenticate.html", form=form, operation=operation), 401
    return render_template("auth/reauthenticate.html", form=form, operation=operation), _status(
        form
    )
