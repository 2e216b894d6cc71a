"""Source pages: who gave the information and how reliable they are, rated apart from
what each report says. Identities and contacts are for the team's researchers only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from incidents.records.kinds import SOURCE
from incidents.services import consent as consent_service
from incidents.services import erasure, erasure_reviews
from incidents.services import reports as report_service
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import form_for

blueprint = Blueprint("sources", __name__)

NewSourceForm = form_for(SOURCE, with_team=True)
SourceForm = form_for(SOURCE)


def _saved(source: Any) -> tuple[str, dict[str, Any]]:
    return "sources.show_source", {"reference": source.reference}


@blueprint.route("/sources")
def list_sources() -> str:
    filters = report_service.SourceFilters.from_query(request.args)
    page = report_service.list_sources(context(), filters, after=request.args.get("after"))
    return render_template("sources/list.html", page=page)


@blueprint.route("/sources/new", methods=["GET", "POST"])
def new_source() -> ResponseReturnValue:
    page = Page(
        heading="Record a source",
        back_url=url_for("sources.list_sources"),
        back_label="Sources",
        submit_label="Save source",
        lead="A person or organisation that gives information. Rate how reliable the source "
        "has proved (A–F) here; each report rates its own information (1–6).",
    )
    return create_page(SOURCE, NewSourceForm(), page, saved=_saved)


@blueprint.route("/sources/<source:reference>")
def show_source(reference: str) -> ResponseReturnValue:
    tombstone = erasure.tombstone_for(context(), reference)
    if tombstone is not None:  # only the tombstone is left; nothing is decrypted
        return render_template("errors/erased.html", tombstone=tombstone), 410
    view = report_service.view_source(context(), reference)
    consents = consent_service.section(context(), reference)
    reviews = erasure_reviews.pending_for(context(), reference)
    return render_template(
        "sources/detail.html", view=view, consent_section=consents, pending_reviews=reviews
    )


@blueprint.route("/sources/<source:reference>/edit", methods=["GET", "POST"])
def edit_source(reference: str) -> ResponseReturnValue:
    page = Page(
        heading=f"Edit source {reference}",
        back_url=url_for("sources.show_source", reference=reference),
        back_label=f"Source {reference}",
        submit_label="Save changes",
    )
    return edit_page(SOURCE, reference, SourceForm(), page, saved=_saved)
