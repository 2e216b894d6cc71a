"""Acts, perpetrators and official responses: each created from its incident's page (or
its act's) in that incident's team, edited on a page of its own, and back to the incident."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, url_for
from flask.typing import ResponseReturnValue

from incidents.records.kind import RecordKind
from incidents.records.kinds import ACT, INCIDENT, INVOLVEMENT, STATE_RESPONSE
from incidents.services import records
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import RecordForm, form_for

blueprint = Blueprint("acts", __name__)

ActForm = form_for(ACT, without=("incident",))
InvolvementForm = form_for(INVOLVEMENT, without=("act",))
ResponseForm = form_for(STATE_RESPONSE, without=("incident",))

ACTS, RESPONSES = "acts-heading", "responses-heading"  # the incident page's sections


def _page(incident: str, section: str, heading: str, submit: str, lead: str | None = None) -> Page:
    return Page(
        heading=f"{heading} — {incident}",
        back_url=url_for("incidents.show_incident", reference=incident, _anchor=section),
        back_label=f"Incident {incident}",
        submit_label=submit,
        lead=lead,
    )


def _back_to(section: str) -> Any:
    def saved(record: Any) -> tuple[str, dict[str, Any]]:
        incident = record.act.incident if hasattr(record, "act") else record.incident
        return "incidents.show_incident", {"reference": incident.reference, "_anchor": section}

    return saved


def _new(
    kind: RecordKind, form: RecordForm, page: Page, section: str, parent: Any, link: str
) -> ResponseReturnValue:
    """A new record of `kind` hanging off `parent` (its `link` field), in parent's team."""
    key = getattr(parent, "reference", None) or str(parent.id)
    fixed: Mapping[str, object] = {link: key}
    return create_page(
        kind, form, page, saved=_back_to(section), team_id=parent.team_id, fixed=fixed
    )


def _edit(
    kind: RecordKind, key: uuid.UUID, form: RecordForm, incident: str, section: str, what: str
) -> ResponseReturnValue:
    page = _page(incident, section, f"Edit {what}", "Save changes")
    return edit_page(kind, key, form, page, saved=_back_to(section))


@blueprint.route("/incidents/<incident:reference>/acts/new", methods=["GET", "POST"])
def new_act(reference: str) -> ResponseReturnValue:
    incident = records.find(context(), INCIDENT, reference, ACT.write_permission)
    page = _page(
        reference,
        ACTS,
        "Record what was done to a person",
        "Save act",
        "One act against one person: record the person first (People → Record a person) "
        "and give their reference here.",
    )
    return _new(ACT, ActForm(), page, ACTS, incident, "incident")


@blueprint.route("/acts/<uuid:act_id>/edit", methods=["GET", "POST"])
def edit_act(act_id: uuid.UUID) -> ResponseReturnValue:
    act = records.find(context(), ACT, act_id, ACT.write_permission)
    return _edit(ACT, act_id, ActForm(), act.incident.reference, ACTS, "an act")


@blueprint.route("/acts/<uuid:act_id>/perpetrators/new", methods=["GET", "POST"])
def new_involvement(act_id: uuid.UUID) -> ResponseReturnValue:
    act = records.find(context(), ACT, act_id, INVOLVEMENT.write_permission)
    page = _page(
        act.incident.reference,
        ACTS,
        "Add a perpetrator",
        "Save perpetrator",
        "Who took part in the act and how. Names and units are encrypted.",
    )
    return _new(INVOLVEMENT, InvolvementForm(), page, ACTS, act, "act")


@blueprint.route("/perpetrators/<uuid:involvement_id>/edit", methods=["GET", "POST"])
def edit_involvement(involvement_id: uuid.UUID) -> ResponseReturnValue:
    involvement = records.find(context(), INVOLVEMENT, involvement_id, INVOLVEMENT.write_permission)
    incident = involvement.act.incident.reference
    return _edit(INVOLVEMENT, involvement_id, InvolvementForm(), incident, ACTS, "a perpetrator")


@blueprint.route("/incidents/<incident:reference>/responses/new", methods=["GET", "POST"])
def new_response(reference: str) -> ResponseReturnValue:
    incident = records.find(context(), INCIDENT, reference, STATE_RESPONSE.write_permission)
    page = _page(
        reference,
        RESPONSES,
        "Record an official response",
        "Save response",
        "A step of the authorities' answer: a denial, a statement, an investigation, "
        "charges. Link the report that documents it if there is one.",
    )
    return _new(STATE_RESPONSE, ResponseForm(), page, RESPONSES, incident, "incident")


@blueprint.route("/responses/<uuid:response_id>/edit", methods=["GET", "POST"])
def edit_response(response_id: uuid.UUID) -> ResponseReturnValue:
    response = records.find(context(), STATE_RESPONSE, response_id, STATE_RESPONSE.write_permission)
    incident = response.incident.reference
    return _edit(
        STATE_RESPONSE, response_id, ResponseForm(), incident, RESPONSES, "an official response"
    )
