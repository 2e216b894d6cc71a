"""A user's own account: password, second factor, recovery codes, open sessions."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for
from werkzeug.wrappers import Response

from incidents.errors import ValidationError
from incidents.services import api_tokens, authentication, duress, sessions, two_factor
from incidents.web.account.forms import EnrolTwoFactorForm, PasswordChangeForm
from incidents.web.boundary import (
    attempt,
    begin_session,
    context,
    current_session,
    session_policy,
    settings,
)
from incidents.web.forms import REFUSED, ActionForm, done, show_errors, submit
from incidents.web.security import allowed_before_enrolment, recent_login_required
from incidents.web.throttling import per_account, per_address

blueprint = Blueprint("account", __name__, url_prefix="/account")

ENROL_SECRET_KEY = "enrol_totp_secret"  # noqa: S105 (the name of a cookie-session entry)


@blueprint.route("")
def overview() -> str:
    ctx = context()
    return render_template(
        "account/overview.html",
        user=ctx.user,
        this_session=current_session(),
        open_sessions=sessions.open_sessions(ctx, ctx.user, session_policy()),
        recovery_codes_left=two_factor.remaining_recovery_codes(ctx),
        api_tokens=api_tokens.list_tokens(ctx, ctx.user),
        has_duress_password=duress.has_duress_password(ctx),
        token_scopes=api_tokens.scopes_for(ctx.user),
        form=ActionForm(),
    )


@blueprint.route("/password", methods=["GET", "POST"])
@per_account
@per_address
def change_password() -> str | Response | tuple[str, int]:
    """Throttled like logging in: the current password is checked here."""
    ctx = context()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            with attempt():
                authentication.change_own_password(
                    ctx, form.current_password.data or "", form.new_password.data or ""
                )
        except ValidationError as error:
            show_errors(form, error)
            if "current_password" not in error.errors:
                return render_template("account/password.html", form=form), REFUSED
            authentication.record_login_failure(ctx, ctx.user, step="password-change")
            return render_template("account/password.html", form=form), 401
        begin_session(ctx.user)  # every session ended, this browser's included; start afresh
        return done(
            "Your password is changed. Every other session of yours has ended.",
            "account.overview",
        )
    status = REFUSED if form.is_submitted() else 200
    return render_template("account/password.html", form=form), status


def _enrolment_secret() -> str:
    """The secret being enrolled, held by the browser between the page showing the QR
    code and the code that confirms it — sealed, since the cookie session is only signed."""
    ctx = context()
    secret = two_factor.open_pending_secret(ctx, session.get(ENROL_SECRET_KEY))
    if secret is None:
        secret = two_factor.new_secret()
        session[ENROL_SECRET_KEY] = two_factor.seal_pending_secret(ctx, secret)
    return secret


@blueprint.route("/two-factor", methods=["GET", "POST"])
@allowed_before_enrolment
@recent_login_required
def two_factor_setup() -> str | Response | tuple[str, int]:
    ctx = context()
    user = ctx.user
    secret = _enrolment_secret()
    form = EnrolTwoFactorForm()
    outcome = submit(form, lambda: two_factor.enable(ctx, secret, form.code.data or ""))
    if outcome.accepted:
        session.pop(ENROL_SECRET_KEY, None)
        begin_session(user)  # a two-factor change ends every session, this one too
        return render_template("account/recovery_codes.html", codes=outcome.result(), first=True)
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "account/two_factor.html",
        form=form,
        user=user,
        secret=secret,
        qr_code=two_factor.qr_code_data_uri(uri),
        otpauth_uri=uri,  # opens the authenticator app on the phone the page is read on
        required=settings().require_two_factor,
    ), outcome.status


@blueprint.route("/two-factor/recovery-codes", methods=["POST"])
@recent_login_required
def new_recovery_codes() -> str | Response:
    # A button with only the CSRF token; a refusal is flashed on the account page.
    outcome = submit(ActionForm(), lambda: two_factor.regenerate_recovery_codes(context()))
    if not outcome.accepted:
        return redirect(url_for("account.overview"))
    return render_template("account/recovery_codes.html", codes=outcome.result(), first=False)


@blueprint.route("/sessions/end-others", methods=["POST"])
def end_other_sessions() -> Response:
    ended = sessions.end_other_sessions(context(), current_session())
    return done(f"Ended {ended} other session{'s' if ended != 1 else ''}.", "account.overview")
