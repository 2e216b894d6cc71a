"""Acts, perpetrators and official responses: each created from its incident's page (or
its act's) in that incident's team, edited on a page of its own, and back to the incident."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, url_for
from flask.typing import ResponseReturnValue

from incidents.records.kinds import ACT, INCIDENT, INVOLVEMENT, STATE_RESPONSE
from incidents.services import records
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import form_for

blueprint = Blueprint("acts", __name__)

NewActForm = form_for(ACT, without=("incident",))
ActForm = form_for(ACT, without=("incident",))
NewInvolvementForm = form_for(INVOLVEMENT, without=("act",))
InvolvementForm = form_for(INVOLVEMENT, without=("act",))
NewResponseForm = form_for(STATE_RESPONSE, without=("incident",))
ResponseForm = form_for(STATE_RESPONSE, without=("incident",))


def _back_to_incident(section: str) -> Any:
    def saved(record: Any) -> tuple[str, dict[str, Any]]:
        incident = record.act.incident if hasattr(record, "act") else record.incident
        return "incidents.show_incident", {"reference": incident.reference, "_anchor": section}

    return saved


def _incident_page(reference: str, section: str) -> tuple[str, str]:
    return (
        url_for("incidents.show_incident", reference=reference, _anchor=section),
        f"Incident {reference}",
    )


@blueprint.route("/incidents/<incident:reference>/acts/new", methods=["GET", "POST"])
def new_act(reference: str) -> ResponseReturnValue:
    incident = records.find(context(), INCIDENT, reference, INCIDENT.write_permission)
    back_url, back_label = _incident_page(reference, "acts-heading")
    page = Page(
        heading=f"Record what was done to a person — {reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save act",
        lead="One act against one person: record the person first (People → Record a "
        "person) and give their reference here.",
    )
    return create_page(
        ACT,
        NewActForm(),
        page,
        saved=_back_to_incident("acts-heading"),
        team_id=incident.team_id,
        fixed={"incident": reference},
    )


@blueprint.route("/acts/<uuid:act_id>/edit", methods=["GET", "POST"])
def edit_act(act_id: uuid.UUID) -> ResponseReturnValue:
    act = records.find(context(), ACT, act_id, ACT.write_permission)
    back_url, back_label = _incident_page(act.incident.reference, "acts-heading")
    page = Page(
        heading=f"Edit an act — {act.incident.reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save changes",
    )
    return edit_page(ACT, act_id, ActForm(), page, saved=_back_to_incident("acts-heading"))


@blueprint.route("/acts/<uuid:act_id>/perpetrators/new", methods=["GET", "POST"])
def new_involvement(act_id: uuid.UUID) -> ResponseReturnValue:
    act = records.find(context(), ACT, act_id, INVOLVEMENT.write_permission)
    back_url, back_label = _incident_page(act.incident.reference, "acts-heading")
    page = Page(
        heading=f"Add a perpetrator — {act.incident.reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save perpetrator",
        lead="Who took part in the act and how. Names and units are encrypted.",
    )
    return create_page(
        INVOLVEMENT,
        NewInvolvementForm(),
        page,
        saved=_back_to_incident("acts-heading"),
        team_id=act.team_id,
        fixed={"act": str(act_id)},
    )


@blueprint.route("/perpetrators/<uuid:involvement_id>/edit", methods=["GET", "POST"])
def edit_involvement(involvement_id: uuid.UUID) -> ResponseReturnValue:
    involvement = records.find(context(), INVOLVEMENT, involvement_id, INVOLVEMENT.write_permission)
    reference = involvement.act.incident.reference
    back_url, back_label = _incident_page(reference, "acts-heading")
    page = Page(
        heading=f"Edit a perpetrator — {reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save changes",
    )
    return edit_page(
        INVOLVEMENT,
        involvement_id,
        InvolvementForm(),
        page,
        saved=_back_to_incident("acts-heading"),
    )


@blueprint.route("/incidents/<incident:reference>/responses/new", methods=["GET", "POST"])
def new_response(reference: str) -> ResponseReturnValue:
    incident = records.find(context(), INCIDENT, reference, STATE_RESPONSE.write_permission)
    back_url, back_label = _incident_page(reference, "responses-heading")
    page = Page(
        heading=f"Record an official response — {reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save response",
        lead="A step of the authorities' answer: a denial, a statement, an investigation, "
        "charges. Link the report that documents it if there is one.",
    )
    return create_page(
        STATE_RESPONSE,
        NewResponseForm(),
        page,
        saved=_back_to_incident("responses-heading"),
        team_id=incident.team_id,
        fixed={"incident": reference},
    )


@blueprint.route("/responses/<uuid:response_id>/edit", methods=["GET", "POST"])
def edit_response(response_id: uuid.UUID) -> ResponseReturnValue:
    response = records.find(context(), STATE_RESPONSE, response_id, STATE_RESPONSE.write_permission)
    reference = response.incident.reference
    back_url, back_label = _incident_page(reference, "responses-heading")
    page = Page(
        heading=f"Edit an official response — {reference}",
        back_url=back_url,
        back_label=back_label,
        submit_label="Save changes",
    )
    return edit_page(
        STATE_RESPONSE,
        response_id,
        ResponseForm(),
        page,
        saved=_back_to_incident("responses-heading"),
    )
