"""One's own personal API tokens: made after a recent password entry, shown once, revoked.

The account page lists the tokens in use; the services check who may make, see and
revoke each one (incidents/services/api_tokens.py).
"""

from __future__ import annotations

import uuid

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from incidents.services import api_tokens
from incidents.web.account.forms import NewApiTokenForm
from incidents.web.account.views import blueprint
from incidents.web.boundary import context
from incidents.web.forms import ActionForm, done, submit
from incidents.web.security import recent_login_required


@blueprint.route("/api-tokens/new", methods=["GET", "POST"])
@recent_login_required  # a token acts as its user: whoever makes one must be that user
def new_api_token() -> tuple[str, int]:
    """The form, then — once — the token itself, on the page that answers the POST."""
    ctx = context()
    form = NewApiTokenForm()
    offered = api_tokens.scopes_for(ctx.user)
    form.offer(offered)
    outcome = submit(
        form,
        lambda: api_tokens.create(
            ctx,
            ctx.user,
            form.name.data or "",
            form.scopes.data or [],
            form.expires_in_days.data or 0,
        ),
    )
    if outcome.accepted:
        token_text, token = outcome.result()
        return render_template(
            "account/api_token_created.html", token_text=token_text, token=token
        ), 200
    return render_template("account/new_api_token.html", form=form, offered=offered), outcome.status


@blueprint.route("/api-tokens/<uuid:token_id>/revoke", methods=["POST"])
def revoke_api_token(token_id: uuid.UUID) -> Response:
    """Revoke one of one's tokens (another user's is not found); no password needed to
    take access away."""
    outcome = submit(ActionForm(), lambda: api_tokens.revoke(context(), token_id))
    if not outcome.accepted:
        return redirect(url_for("account.overview"))
    token, revoked_now = outcome.result()
    if not revoked_now:
        return done(f"The API token “{token.name}” was revoked already.", "account.overview")
    return done(
        f"Revoked the API token “{token.name}”: it stops working at once.", "account.overview"
    )
