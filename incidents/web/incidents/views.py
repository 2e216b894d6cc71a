"""Incident pages: the list (no decryption) and the detail (secrets for the team's researchers)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from incidents.permissions import Permission, can
from incidents.records.kinds import INCIDENT
from incidents.services import erasure, related_cases
from incidents.services import incidents as incident_service
from incidents.services.incident_filters import IncidentFilters
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import form_for

blueprint = Blueprint("incidents", __name__)

CURSOR = re.compile(INCIDENT.reference_pattern or "")
NewIncidentForm = form_for(INCIDENT, with_team=True)
IncidentForm = form_for(INCIDENT)


@blueprint.route("/")
def index() -> Response:
    """The first page the user's roles open: case records, else administration."""
    user = context().user
    if can(user, Permission.CASE_READ):
        return redirect(url_for("incidents.list_incidents"))
    if can(user, Permission.USERS_MANAGE):
        return redirect(url_for("admin.users"))
    return redirect(url_for("account.overview"))


@blueprint.route("/incidents")
def list_incidents() -> str:
    after = request.args.get("after")
    if after is not None and not CURSOR.fullmatch(after):
        after = None  # a malformed cursor starts from the first page rather than failing
    filters = IncidentFilters.from_query(request.args)
    page = incident_service.list_incidents(context(), after=after, filters=filters)
    return render_template("incidents/list.html", page=page, filters=filters)


def _saved(incident: Any) -> tuple[str, dict[str, Any]]:
    return "incidents.show_incident", {"reference": incident.reference}


@blueprint.route("/incidents/new", methods=["GET", "POST"])
def new_incident() -> ResponseReturnValue:
    page = Page(
        heading="Record an incident",
        back_url=url_for("incidents.list_incidents"),
        back_label="Incidents",
        submit_label="Save incident",
        lead="What happened, where and when, as far as it is known. The title and summary "
        "are shown to advocacy leads: keep names and identifying details out of them.",
    )
    return create_page(INCIDENT, NewIncidentForm(), page, saved=_saved)


@blueprint.route("/incidents/<incident:reference>/edit", methods=["GET", "POST"])
def edit_incident(reference: str) -> ResponseReturnValue:
    page = Page(
        heading=f"Edit incident {reference}",
        back_url=url_for("incidents.show_incident", reference=reference),
        back_label=f"Incident {reference}",
        submit_label="Save changes",
        lead="The title and summary are shown to advocacy leads: keep names and identifying "
        "details out of them.",
    )
    return edit_page(INCIDENT, reference, IncidentForm(), page, saved=_saved)


@blueprint.route("/incidents/<incident:reference>")
def show_incident(reference: str) -> str | tuple[str, int]:
    tombstone = erasure.tombstone_for(context(), reference)
    if tombstone is not None:
        return render_template("errors/erased.html", tombstone=tombstone), 410
    return render_incident(incident_service.view_incident(context(), reference))


def render_incident(view: incident_service.IncidentView, **extra: Any) -> str:
    """The incident page; other areas re-render it with their form errors in `extra`.
    Its related cases are for the team's researchers only: None, no section, for others."""
    related = related_cases.for_incident(context(), view)
    return render_template("incidents/detail.html", view=view, related=related, **extra)
