"""One's own duress password: set or replaced after a recent password entry, removed.

What a login with it does is the duress service's (incidents/services/duress.py); a
duress session is shown the page as for an account without one, and changes nothing.
"""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from incidents.services import duress
from incidents.web.account.forms import DuressPasswordForm
from incidents.web.account.views import blueprint
from incidents.web.boundary import context
from incidents.web.forms import ActionForm, done, submit
from incidents.web.security import recent_login_required


@blueprint.route("/duress-password", methods=["GET", "POST"])
@recent_login_required
def duress_password() -> Response | tuple[str, int]:
    ctx = context()
    form = DuressPasswordForm()
    outcome = submit(form, lambda: duress.set_duress_password(ctx, form.duress_password.data or ""))
    if outcome.accepted:
        return done("Your duress password is set.", "account.overview")
    return render_template(
        "account/duress_password.html", form=form, replacing=duress.has_duress_password(ctx)
    ), outcome.status


@blueprint.route("/duress-password/remove", methods=["POST"])
@recent_login_required
def remove_duress_password() -> Response:
    outcome = submit(ActionForm(), lambda: duress.remove_duress_password(context()))
    removed = outcome.accepted and outcome.result()
    message = "Your duress password is removed." if removed else "You have no duress password."
    return done(message, "account.overview")
