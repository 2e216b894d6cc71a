"""Report pages: the list (filters, keyset pages, no decryption), one report (its account
for the team's researchers), and the forms to log and edit one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from incidents.records.kinds import REPORT
from incidents.services import erasure
from incidents.services import reports as report_service
from incidents.web.boundary import context
from incidents.web.records.editing import Page, create_page, edit_page
from incidents.web.records.forms import form_for

blueprint = Blueprint("reports", __name__)

# A new report is not rejected yet; an edit shows the reason, to change or clear with
# the status.
NewReportForm = form_for(REPORT, without=("rejection_reason",), with_team=True)
ReportForm = form_for(REPORT)


def _saved(report: Any) -> tuple[str, dict[str, Any]]:
    return "reports.show_report", {"reference": report.reference}


@blueprint.route("/reports")
def list_reports() -> str:
    filters = report_service.ReportFilters.from_query(request.args)
    page = report_service.list_reports(context(), filters, after=request.args.get("after"))
    return render_template("reports/list.html", page=page)


@blueprint.route("/reports/new", methods=["GET", "POST"])
def new_report() -> ResponseReturnValue:
    form = NewReportForm()
    if not form.is_submitted() and not form.draft_restored:  # "… of this incident" links
        form.incident.data = request.args.get("incident", "")[:30]
        form.source.data = request.args.get("source", "")[:30]
    page = Page(
        heading="Log a report",
        back_url=url_for("reports.list_reports"),
        back_label="Reports",
        submit_label="Save report",
        lead="One sourced account: who said it (the source), when and how it reached you, "
        "and how credible the information is, rated apart from the source's reliability.",
    )
    return create_page(REPORT, form, page, saved=_saved)


@blueprint.route("/reports/<report:reference>")
def show_report(reference: str) -> ResponseReturnValue:
    tombstone = erasure.tombstone_for(context(), reference)
    if tombstone is not None:  # only the tombstone is left; nothing is decrypted
        return render_template("errors/erased.html", tombstone=tombstone), 410
    return render_template(
        "reports/detail.html", view=report_service.view_report(context(), reference)
    )


@blueprint.route("/reports/<report:reference>/edit", methods=["GET", "POST"])
def edit_report(reference: str) -> ResponseReturnValue:
    page = Page(
        heading=f"Edit report {reference}",
        back_url=url_for("reports.show_report", reference=reference),
        back_label=f"Report {reference}",
        submit_label="Save changes",
        lead="To move the report to another incident, change its incident: the move is "
        "kept in the report's history.",
    )
    return edit_page(REPORT, reference, ReportForm(), page, saved=_saved)
