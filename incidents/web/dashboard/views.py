"""The advocacy dashboard and the calendar feed of follow-ups."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from incidents.errors import ValidationError
from incidents.services import calendar_feed as feeds
from incidents.services import dashboard as dashboard_service
from incidents.web.boundary import context
from incidents.web.dashboard import charts
from incidents.web.forms import REFUSED, ActionForm, done, submit
from incidents.web.security import public

blueprint = Blueprint("dashboard", __name__)

# An action's impact keeps its colour from chart to chart: good outcomes green, bad ones
# orange to red, neutral and unknown grey.
IMPACT_COLOURS = {
    "strong_positive": "#006d3c",
    "positive": "#009e73",
    "neutral": "#999999",
    "negative": "#e69f00",
    "strong_negative": "#d55e00",
    "unknown": "#d0d0d0",
}
MAX_CHARTED_REGIONS = 15  # the table beside the chart lists them all


def _month_chart(
    chart_id: str, title: str, chart: dashboard_service.MonthChart, colours: dict[str, str] | None
) -> Markup | None:
    if not chart.months or not any(chart.totals):
        return None
    bars = [charts.Bars(s.key, s.label, s.values) for s in chart.series]
    described = (
        f"{title}, {chart.months[0]} to {chart.months[-1]}. The table beside it has the numbers."
    )
    return charts.stacked_bars(chart_id, title, described, chart.months, bars, colours)


def _charts(view: dashboard_service.Dashboard) -> dict[str, Markup | None]:
    regions = view.regions[:MAX_CHARTED_REGIONS]
    coverage = [(row.label, row.usable) for row in view.coverage]
    return {
        "incidents": _month_chart(
            "chart-incidents", "Incidents per month by violation type", view.incidents, None
        ),
        "actions": _month_chart(
            "chart-actions", "Advocacy actions per month by impact", view.actions, IMPACT_COLOURS
        ),
        "regions": charts.horizontal_bars(
            "chart-regions",
            "Incidents by region",
            "Incidents per region and country, most first. The table beside it has the numbers.",
            [(row.label, row.incidents) for row in regions],
        )
        if regions
        else None,
        "coverage": charts.horizontal_bars(
            "chart-coverage",
            "Reports usable for each use",
            f"How many of the {view.reports} reports may serve each use. "
            "The table beside it has the numbers.",
            coverage,
            maximum=view.reports,
            fill=charts.PALETTE[2],
        )
        if view.reports
        else None,
    }


@blueprint.route("/dashboard")
def show() -> ResponseReturnValue:
    ctx = context()
    start, end = request.args.get("from", "")[:7], request.args.get("to", "")[:7]
    errors: dict[str, str] = {}
    try:
        view = dashboard_service.dashboard(ctx, start or None, end or None)
    except ValidationError as error:
        errors = error.errors or {"from": str(error)}
        view = dashboard_service.dashboard(ctx)
    page = render_template(
        "dashboard/show.html",
        view=view,
        charts=_charts(view),
        errors=errors,
        # What was typed, else the months shown: a month input left empty reads as dashes.
        typed={"from": start or view.start or "", "to": end or view.end or ""},
    )
    return page, REFUSED if errors else 200


@blueprint.route("/account/calendar", methods=["POST"])
def new_calendar_token() -> ResponseReturnValue:
    """Make (or replace) the feed's token and show it, once, with the feed's address."""
    outcome = submit(ActionForm(), lambda: feeds.new_token(context()))
    if not outcome.accepted:
        return redirect(url_for("account.overview"))
    token = outcome.result()
    return render_template(
        "dashboard/calendar_token.html",
        feed_url=url_for("dashboard.calendar_feed", token=token, _external=True),
    )


@blueprint.route("/account/calendar/revoke", methods=["POST"])
def revoke_calendar_token() -> ResponseReturnValue:
    outcome = submit(ActionForm(), lambda: feeds.revoke_token(context()))
    if not outcome.accepted:
        return redirect(url_for("account.overview"))
    if outcome.result():
        return done(
            "Your calendar feed is turned off; its address opens nothing now.", "account.overview"
        )
    return done("You had no calendar feed.", "account.overview")


@blueprint.route("/calendar/<token>.ics")
@public
def calendar_feed(token: str) -> Response:
    """The feed, for a calendar application: no session, the token is the key. An unknown
    token, a disabled user or one without advocacy:read are the same 404."""
    body = feeds.feed(context(), token, request.host_url)
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "no-store"
    return response
