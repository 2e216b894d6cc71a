"""Erasing a record from the web: a researcher of its team, a reason, and the password again."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from incidents.errors import ValidationError
from incidents.extensions import db, evidence_store
from incidents.services import erasure
from incidents.web.current import actor, current_account
from incidents.web.forms import EraseForm, show_errors
from incidents.web.security import recent_login_required

blueprint = Blueprint("erasure", __name__)

KINDS = {"INC": "incident", "RPT": "report", "SRC": "source", "PER": "person"}


@blueprint.route("/records/<reference>/erase", methods=["GET", "POST"])
@recent_login_required
def erase(reference: str) -> str | Response | tuple[str, int]:
    record = erasure.erasable_record(db.session, current_account(), reference)
    form = EraseForm()
    status = 200
    if form.validate_on_submit():
        if (form.confirm_reference.data or "").strip().upper() != record.reference:
            form.confirm_reference.errors = [f"type {record.reference} to confirm"]
            status = 422
        else:
            try:
                erasure.erase_record(
                    db.session,
                    actor(),
                    current_account(),
                    reference,
                    form.reason.data or "",
                    evidence_store(),
                )
            except ValidationError as error:
                db.session.rollback()
                show_errors(form, error)
                status = 422
            else:
                db.session.commit()
                flash(f"{reference} is erased. Its secret fields can never be read again.", "info")
                return redirect(url_for("incidents.list_incidents"))
    elif form.is_submitted():
        status = 400
    kind = KINDS.get(reference[:3], "record")
    return render_template(
        "erasure/confirm.html", form=form, reference=record.reference, kind=kind
    ), status
