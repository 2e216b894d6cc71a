"""Erasing a record from the web: a researcher of its team, a reason code
(and a note, sealed), and the password again."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from incidents.records.kinds import kind_of_reference
from incidents.services import erasure
from incidents.web.boundary import context
from incidents.web.erasure.forms import EraseForm
from incidents.web.forms import submit
from incidents.web.record_pages import record_page
from incidents.web.security import recent_login_required

blueprint = Blueprint("erasure", __name__)


@blueprint.route("/records/<erasable:reference>/erase", methods=["GET", "POST"])
@recent_login_required
def erase(reference: str) -> str | Response | tuple[str, int]:
    kind = kind_of_reference(reference).label
    back = record_page(reference) or url_for("incidents.list_incidents")
    try:
        record = erasure.erasable_record(context(), reference)
    except erasure.AlreadyErased as erased:
        # A second erasure (another tab, a colleague first): say so, with the tombstone.
        tombstone = erasure.tombstone_seen(context(), erased.tombstone)
        return render_template(
            "erasure/already_erased.html", tombstone=tombstone, kind=kind, back=back
        ), 410
    form = EraseForm()

    outcome = submit(
        form,
        lambda: erasure.erase_record(
            context(),
            reference,
            form.reason_code.data or "",
            form.reason_note.data or "",
            confirmation=form.confirm_reference.data or "",
        ),
    )
    if outcome.accepted:
        # The record's page now shows its tombstone, under this message.
        flash(f"{reference} is erased. Its secret fields can never be read again.", "info")
        return redirect(back)
    return render_template(
        "erasure/confirm.html", form=form, reference=record.reference, kind=kind, back=back
    ), outcome.status
