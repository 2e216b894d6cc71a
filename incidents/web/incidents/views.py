"""Incident pages: the list (no decryption) and the detail (secrets for the team's researchers)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from incidents.permissions import Permission, can
from incidents.records.kinds import INCIDENT
from incidents.services import erasure
from incidents.services import incidents as incident_service
from incidents.web.boundary import context

blueprint = Blueprint("incidents", __name__)

CURSOR = re.compile(INCIDENT.reference_pattern or "")


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
    page = incident_service.list_incidents(context(), after=after)
    return render_template("incidents/list.html", page=page)


@blueprint.route("/incidents/<incident:reference>")
def show_incident(reference: str) -> str | tuple[str, int]:
    tombstone = erasure.tombstone_for(context(), reference)
    if tombstone is not None:
        return render_template("errors/erased.html", tombstone=tombstone), 410
    return render_incident(incident_service.view_incident(context(), reference))


def render_incident(view: incident_service.IncidentView, **extra: Any) -> str:
    """The incident page; other areas re-render it with their form errors in `extra`."""
    return render_template("incidents/detail.html", view=view, **extra)
