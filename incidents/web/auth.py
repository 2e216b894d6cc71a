"""Logging in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from incidents.extensions import db
from incidents.services import accounts
from incidents.web.current import current_account
from incidents.web.forms import LoginForm, LogoutForm
from incidents.web.security import public

blueprint = Blueprint("auth", __name__)

FAILED_LOGIN = "E-mail or password is not right."


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("incidents.index")


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("incidents.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.log_in(db.session, form.email.data or "", form.password.data or "")
        db.session.commit()
        if user is None:
            flash(FAILED_LOGIN, "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # nothing from before login survives it
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    form = LogoutForm()
    if form.validate_on_submit():
        accounts.log_out(db.session, current_account())
        db.session.commit()
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
