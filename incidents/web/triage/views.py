"""The triage page, for researchers: the queue of their teams' new reports, oldest first,
with a decision form on each row and one decision for the reports chosen with the rows'
checkboxes. Both forms post to the page itself; a refused one is shown again, in its
place, with what was typed (422), and an accepted one goes back to the same page.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, flash, render_template, request
from flask.typing import ResponseReturnValue

from incidents.models.report import Report
from incidents.services import triage
from incidents.web.boundary import context
from incidents.web.forms import REFUSED, done, submit
from incidents.web.triage.forms import ReportDecisionForm, SelectedDecisionForm

blueprint = Blueprint("triage", __name__)

_DONE = {
    triage.Decision.TRIAGED: "marked as triaged",
    triage.Decision.LINKED: "linked to {incident}",
    triage.Decision.REJECTED: "rejected",
}


@blueprint.route("/triage", methods=["GET", "POST"])
def queue() -> ResponseReturnValue:
    ctx = context()
    triage.ensure_triage_access(ctx)  # refused before anything is read or written
    after = request.args.get("after")
    scope = request.form.get("scope") if request.method == "POST" else None
    # Only the form that was sent reads the request; the others are shown fresh.
    one = ReportDecisionForm(formdata=request.form if scope == "report" else None)
    selected = SelectedDecisionForm(formdata=request.form if scope == "selected" else None)
    problems: dict[str, str] = {}
    status = 200
    if scope == "report":
        outcome = submit(one, lambda: triage.decide(ctx, one.target(), one.choice()))
        if outcome.accepted:
            return _decided(one.choice(), [outcome.result()], after)
        status = outcome.status
    elif scope == "selected":

        def decide_selected() -> tuple[Report, ...]:
            try:
                return triage.decide_many(ctx, selected.targets(), selected.choice())
            except triage.NotAllDecided as refused:
                problems.update(refused.problems)  # shown on the rows they are about
                raise

        outcome_many = submit(selected, decide_selected)
        if outcome_many.accepted:
            return _decided(selected.choice(), outcome_many.result(), after)
        status = outcome_many.status
    elif request.method == "POST":  # neither form: nothing to decide
        flash("Choose a report and a decision, then save it.", "error")
        status = REFUSED
    page = triage.queue(ctx, after=after, limit=triage.PAGE_SIZE)
    rows = [(row, _row_form(row, one)) for row in page.reports]
    shown = {row.reference for row in page.reports}
    # A refused decision about a report no longer in the queue (decided by someone else,
    # or not there at all) is said at the top of the page.
    stray = [] if scope != "report" or one.report.data in shown else _errors_of(one)
    stray += [why for reference, why in problems.items() if reference not in shown]
    return render_template(
        "triage/queue.html",
        page=page,
        rows=rows,
        selected=selected,
        chosen=selected.chosen() if scope == "selected" else set(),
        problems=problems,
        stray=stray,
        after=after if triage.parse_cursor(after) else None,
    ), status


def _row_form(row: triage.QueueRow, sent: ReportDecisionForm) -> ReportDecisionForm:
    """The row's form: the one sent, if it was about this report, else a fresh one."""
    form = sent if sent.report.data == row.reference else ReportDecisionForm(formdata=None)
    form.report.data = row.reference
    # Shown again after a refusal, the form carries the version the page now shows.
    form.lock_version.data = str(row.lock_version)
    form.identify(row.reference)
    return form


def _errors_of(form: ReportDecisionForm) -> list[str]:
    return [error for field in form for error in field.errors]


def _decided(
    choice: triage.Choice, reports: Sequence[Report], after: str | None
) -> ResponseReturnValue:
    what = _DONE[choice.decision].format(incident=(choice.incident or "").upper())
    references = ", ".join(r.reference for r in reports)
    if len(reports) == 1:
        message = f"{references} {what}."
    else:
        message = f"{len(reports)} reports {what}: {references}."
    return done(message, "triage.queue", after=after if triage.parse_cursor(after) else None)
