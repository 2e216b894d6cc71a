"""Incident pages: the list (no decryption) and the detail (secrets for the team's researchers)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from incidents.errors import NotFound
from incidents.extensions import db
from incidents.models.vocabularies import CREDIBILITY_LABELS, RELIABILITY_LABELS, label
from incidents.permissions import Permission, can
from incidents.services import erasure
from incidents.services import incidents as incident_service
from incidents.web.current import actor, current_account, vault

blueprint = Blueprint("incidents", __name__)

REFERENCE = re.compile(r"^[A-Z]{3}-\d{4}-\d{4,}$")


@blueprint.route("/")
def index() -> Response:
    """The first page the user's roles open: case records, else administration."""
    user = current_account()
    if can(user, Permission.CASE_READ):
        return redirect(url_for("incidents.list_incidents"))
    if can(user, Permission.USERS_MANAGE):
        return redirect(url_for("admin.users"))
    return redirect(url_for("account.overview"))


@blueprint.route("/incidents")
def list_incidents() -> str:
    after = request.args.get("after")
    if after is not None and not REFERENCE.match(after):
        after = None  # a malformed cursor starts from the first page rather than failing
    page = incident_service.list_incidents(db.session, current_account(), after=after)
    return render_template("incidents/list.html", page=page, label=label)


@blueprint.route("/incidents/<reference>")
def show_incident(reference: str) -> str | tuple[str, int]:
    if not REFERENCE.match(reference):
        raise NotFound(reference)
    tombstone = erasure.tombstone_for(db.session, current_account(), reference)
    if tombstone is not None:
        return render_template("errors/erased.html", tombstone=tombstone), 410
    view = incident_service.view_incident(
        db.session, vault(), current_account(), actor(), reference
    )
    db.session.commit()  # the decryption's audit event
    return render_incident(view)


def render_incident(view: incident_service.IncidentView, **extra: Any) -> str:
    """The incident page; other areas re-render it with their form errors in `extra`."""
    return render_template(
        "incidents/detail.html",
        view=view,
        label=label,
        credibility_labels=CREDIBILITY_LABELS,
        reliability_labels=RELIABILITY_LABELS,
        **extra,
    )
