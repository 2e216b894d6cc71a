"""The buttons of the related-cases section (templates/related/_section.html): dismiss a
suggestion, or show a dismissed one again. The record of the page is looked up first, so
another team's answers "not found" to every role; then secret fields and case:write are
required. What the form names is checked by the service; a refused form shows the page
again with the reason."""

from __future__ import annotations

from collections.abc import Callable

from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField

from incidents.models.vocabularies import label
from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT
from incidents.services import incidents as incident_service
from incidents.services import suggestion_dismissals
from incidents.web.boundary import context
from incidents.web.forms import done, submit
from incidents.web.incidents.views import blueprint, render_incident

RESTORE = "restore"


class RelatedCaseForm(FlaskForm):  # type: ignore[misc]
    other = StringField("Suggested record")
    # Chosen by the button, not typed: the service names a value it does not know.
    reason = SelectMultipleField("Reason", choices=[], validate_choice=False)
    action = StringField("Action")


def handle(
    kind: RecordKind,
    reference: str,
    endpoint: str,
    show_again: Callable[[RelatedCaseForm], str],
) -> ResponseReturnValue:
    ctx = context()
    suggestion_dismissals.subject(ctx, kind, reference)
    form = RelatedCaseForm()
    restoring = form.action.data == RESTORE
    change = suggestion_dismissals.restore if restoring else suggestion_dismissals.dismiss
    outcome = submit(form, lambda: change(ctx, kind, reference, form.other.data, form.reason.data))
    if not outcome.accepted:
        return show_again(form), outcome.status
    other = (form.other.data or "").strip().upper()
    reasons = ", ".join(label(r).replace("_", " ") for r in form.reason.data)
    message = (
        f"{other} may be suggested with {reference} again ({reasons})."
        if restoring
        else f"Dismissed: {other} will not be suggested with {reference} again ({reasons})."
    )
    return done(message, endpoint, reference=reference, _anchor="related-heading")


@blueprint.route("/incidents/<incident:reference>/related", methods=["POST"])
def related_cases(reference: str) -> ResponseReturnValue:
    return handle(
        INCIDENT,
        reference,
        "incidents.show_incident",
        lambda form: render_incident(
            incident_service.view_incident(context(), reference), related_form=form
        ),
    )
