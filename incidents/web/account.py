"""A user's own account: password, second factor, recovery codes, open sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from werkzeug.wrappers import Response

from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.models.user import User
from incidents.services import accounts, sessions, two_factor
from incidents.web.current import (
    begin_session,
    current_account,
    current_session,
    session_policy,
    settings,
    vault,
)
from incidents.web.forms import (
    ActionForm,
    EnrolTwoFactorForm,
    PasswordChangeForm,
    show_errors,
)
from incidents.web.security import allowed_before_enrolment, recent_login_required
from incidents.web.throttling import per_account, per_address

blueprint = Blueprint("account", __name__, url_prefix="/account")

ENROL_SECRET_KEY = "enrol_totp_secret"  # noqa: S105 (the name of a cookie-session entry)


@blueprint.route("")
def overview() -> str:
    user = current_account()
    return render_template(
        "account/overview.html",
        user=user,
        this_session=current_session(),
        open_sessions=sessions.open_sessions(db.session, user, session_policy()),
        recovery_codes_left=two_factor.remaining_recovery_codes(db.session, user),
        form=ActionForm(),
    )


@blueprint.route("/password", methods=["GET", "POST"])
@per_account
@per_address
def change_password() -> str | Response | tuple[str, int]:
    """Throttled like logging in: the current password is checked here."""
    user = current_account()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(
                db.session, user, form.current_password.data or "", form.new_password.data or ""
            )
        except ValidationError as error:
            db.session.rollback()
            show_errors(form, error)
            if "current_password" not in error.errors:
                return render_template("account/password.html", form=form), 422
            accounts.record_login_failure(db.session, user, step="password-change")
            db.session.commit()
            return render_template("account/password.html", form=form), 401
        begin_session(user)  # every session ended, this browser's included; start afresh
        db.session.commit()
        flash("Your password is changed. Every other session of yours has ended.", "info")
        return redirect(url_for("account.overview"))
    status = 400 if form.is_submitted() else 200
    return render_template("account/password.html", form=form), status


def _enrolment_secret(user: User) -> str:
    """The secret being enrolled, held by the browser between the page showing the QR
    code and the code that confirms it — sealed, since the cookie session is only signed."""
    secret = two_factor.open_pending_secret(vault(), user, session.get(ENROL_SECRET_KEY))
    if secret is None:
        secret = two_factor.new_secret()
        session[ENROL_SECRET_KEY] = two_factor.seal_pending_secret(vault(), user, secret)
        db.session.commit()  # the account's data key, made on first use
    return secret


@blueprint.route("/two-factor", methods=["GET", "POST"])
@allowed_before_enrolment
@recent_login_required
def two_factor_setup() -> str | Response | tuple[str, int]:
    user = current_account()
    secret = _enrolment_secret(user)
    form = EnrolTwoFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(
                db.session, vault(), accounts.actor_of(user), user, secret, form.code.data or ""
            )
        except ValidationError as error:
            db.session.rollback()
            show_errors(form, error)
            status = 422
        else:
            session.pop(ENROL_SECRET_KEY, None)
            begin_session(user)  # a two-factor change ends every session, this one too
            db.session.commit()
            return render_template("account/recovery_codes.html", codes=codes, first=True)
    elif form.is_submitted():
        status = 400
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "account/two_factor.html",
        form=form,
        user=user,
        secret=secret,
        qr_code=two_factor.qr_code_data_uri(uri),
        required=settings().require_two_factor,
    ), status


@blueprint.route("/two-factor/recovery-codes", methods=["POST"])
@recent_login_required
def new_recovery_codes() -> str | Response:
    # A button with only the CSRF token, which CSRFProtect checked before the view.
    user = current_account()
    try:
        codes = two_factor.regenerate_recovery_codes(db.session, accounts.actor_of(user), user)
    except ValidationError as error:
        flash(str(error), "error")
        return redirect(url_for("account.overview"))
    db.session.commit()
    return render_template("account/recovery_codes.html", codes=codes, first=False)


@blueprint.route("/sessions/end-others", methods=["POST"])
def end_other_sessions() -> Response:
    user = current_account()
    ended = sessions.end_other_sessions(db.session, user, current_session())
    db.session.commit()
    flash(f"Ended {ended} other session{'s' if ended != 1 else ''}.", "info")
    return redirect(url_for("account.overview"))
