"""Erasing a record from the web: a researcher of its team, a reason, and the password again."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from incidents.records.kinds import kind_of_reference
from incidents.services import erasure
from incidents.web.boundary import context
from incidents.web.erasure.forms import EraseForm
from incidents.web.forms import done, submit
from incidents.web.security import recent_login_required

blueprint = Blueprint("erasure", __name__)


@blueprint.route("/records/<erasable:reference>/erase", methods=["GET", "POST"])
@recent_login_required
def erase(reference: str) -> str | Response | tuple[str, int]:
    record = erasure.erasable_record(context(), reference)
    form = EraseForm()

    outcome = submit(
        form,
        lambda: erasure.erase_record(
            context(),
            reference,
            form.reason.data or "",
            confirmation=form.confirm_reference.data or "",
        ),
    )
    if outcome.accepted:
        return done(
            f"{reference} is erased. Its secret fields can never be read again.",
            "incidents.list_incidents",
        )
    kind = kind_of_reference(reference)
    return render_template(
        "erasure/confirm.html", form=form, reference=record.reference, kind=kind.label
    ), outcome.status
