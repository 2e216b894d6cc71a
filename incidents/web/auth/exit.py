"""Quick exit: leave at once for a page that says nothing of this application.

The button in every page's header — or Escape pressed twice (static/quick_exit.js) —
ends the user's sessions on the server, as logging out does, and sends the browser to
`quick_exit_url`, or to a plain weather page of this site when that is not set. The
exit is public: a session that has already ended still leaves for the neutral page
rather than the login form.
"""

from __future__ import annotations

from flask import redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.services import authentication, sessions
from incidents.web.auth.views import blueprint
from incidents.web.boundary import context, end_browser_session, settings
from incidents.web.security import public

QUICK_EXIT_REASON = "quick_exit"


def exit_target() -> str:
    """Where the quick exit lands: the configured address, else the neutral page."""
    return settings().quick_exit_url or url_for("auth.neutral_page")


@blueprint.route("/exit", methods=["POST"])
@public
def quick_exit() -> Response:
    # CSRFProtect has checked the token before the view runs.
    if current_user.is_authenticated:
        ctx = context()
        authentication.log_out(ctx, reason=QUICK_EXIT_REASON)
        sessions.end_all_sessions(ctx, ctx.user, sessions.EndReason.QUICK_EXIT)
        end_browser_session()
    session.clear()
    return redirect(exit_target(), 303)


@blueprint.route("/weather")
@public
def neutral_page() -> str:
    return render_template("auth/neutral.html")
