"""Action and campaign pages (lists with filters, detail with history, forms).

Everything on them is public or advocacy: an advocacy lead works here without any
restricted or secret field of a case, and nothing is decrypted."""

from __future__ import annotations

import uuid
from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from incidents.records.kinds import ADVOCACY_ACTION, CAMPAIGN
from incidents.services import action_links, advocacy, advocacy_work
from incidents.web.advocacy.blueprint import blueprint
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import RecordForm, form_for

NewActionForm = form_for(ADVOCACY_ACTION, with_team=True)
ActionForm = form_for(ADVOCACY_ACTION)
NewCampaignForm = form_for(CAMPAIGN, with_team=True)
CampaignForm = form_for(CAMPAIGN)


def _action_saved(action: Any) -> tuple[str, dict[str, Any]]:
    return "advocacy.show_action", {"reference": action.reference}


def _campaign_saved(campaign: Any) -> tuple[str, dict[str, Any]]:
    return "advocacy.show_campaign", {"campaign_id": campaign.id}


def _offer(form: RecordForm, team_id: uuid.UUID | None = None) -> None:
    """The campaigns (of the action's team, or of the user's) and the organisations."""
    ctx = context()
    form.offer("campaign", advocacy.campaign_choices(ctx, team_id))
    form.offer("organisations", advocacy.organisation_choices(ctx))


def _campaign_asked() -> uuid.UUID | None:
    try:
        return uuid.UUID(request.args.get("campaign", "")[:40])
    except ValueError:
        return None


@blueprint.route("/advocacy/actions")
def list_actions() -> str:
    filters = advocacy.ActionFilters.from_query(request.args)
    page = advocacy.list_actions(context(), filters, after=request.args.get("after"))
    return render_template("advocacy/actions_list.html", page=page)


@blueprint.route("/advocacy/actions/new", methods=["GET", "POST"])
def new_action() -> ResponseReturnValue:
    form = NewActionForm()
    _offer(form)
    if not form.is_submitted() and not form.draft_restored:  # "Add an action" on a campaign
        wanted = _campaign_asked()
        team_id = advocacy.campaign_team(context(), wanted) if wanted else None
        if team_id is not None:
            form.campaign.data = str(wanted)
            form.team.data = str(team_id)
    page = Page(
        heading="Record an advocacy action",
        back_url=url_for("advocacy.list_actions"),
        back_label="Advocacy actions",
        submit_label="Save action",
        lead="A petition, a protest, a letter, a submission to a UN body: what was done, "
        "by whom, towards whom, and what came of it. Link the reports it relies on from the "
        "action's page once it is saved.",
    )
    return create_page(ADVOCACY_ACTION, form, page, saved=_action_saved)


@blueprint.route("/advocacy/actions/<advocacy_action:reference>")
def show_action(reference: str) -> ResponseReturnValue:
    ctx = context()
    action = advocacy.find_action(ctx, reference)
    view = advocacy.view_action(ctx, action)
    work = advocacy_work.work_of(ctx, action)
    return render_template("advocacy/action_detail.html", view=view, action=view, work=work)


@blueprint.route("/advocacy/actions/<advocacy_action:reference>/edit", methods=["GET", "POST"])
def edit_action(reference: str) -> ResponseReturnValue:
    action = advocacy.find_action(context(), reference)  # another team's: no such page
    form = ActionForm()
    _offer(form, action.team_id)
    page = Page(
        heading=f"Edit action {reference}",
        back_url=url_for("advocacy.show_action", reference=reference),
        back_label=f"Action {reference}",
        submit_label="Save changes",
    )
    return edit_page(
        ADVOCACY_ACTION,
        reference,
        form,
        page,
        saved=_action_saved,
        check=lambda typed: action_links.check_kind_change(action, typed),
    )


@blueprint.route("/advocacy/campaigns")
def list_campaigns() -> str:
    rows = advocacy.list_campaigns(context())
    return render_template("advocacy/campaigns_list.html", rows=rows)


@blueprint.route("/advocacy/campaigns/new", methods=["GET", "POST"])
def new_campaign() -> ResponseReturnValue:
    page = Page(
        heading="Start a campaign",
        back_url=url_for("advocacy.list_campaigns"),
        back_label="Campaigns",
        submit_label="Save campaign",
        lead="Actions under one banner, such as an international day of action in many "
        "cities. Add the actions from the campaign's page.",
    )
    return create_page(CAMPAIGN, NewCampaignForm(), page, saved=_campaign_saved)


@blueprint.route("/advocacy/campaigns/<uuid:campaign_id>")
def show_campaign(campaign_id: uuid.UUID) -> str:
    view = advocacy.view_campaign(context(), campaign_id)
    return render_template("advocacy/campaign_detail.html", view=view)


@blueprint.route("/advocacy/campaigns/<uuid:campaign_id>/edit", methods=["GET", "POST"])
def edit_campaign(campaign_id: uuid.UUID) -> ResponseReturnValue:
    page = Page(
        heading="Edit the campaign",
        back_url=url_for("advocacy.show_campaign", campaign_id=campaign_id),
        back_label="The campaign",
        submit_label="Save changes",
    )
    return edit_page(CAMPAIGN, campaign_id, CampaignForm(), page, saved=_campaign_saved)
