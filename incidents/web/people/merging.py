"""Merging a duplicate into a person: choose the other record, compare the two side by
side, confirm; the kept person's page then offers to undo it. Researchers of the team.

The comparison is a GET (it names the other record by reference, never by name); the
merge and its undo are POSTs with a CSRF token, each one service call in a savepoint.
"""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from incidents.services import person_merge
from incidents.web.boundary import context
from incidents.web.forms import REFUSED, ActionForm, done, submit
from incidents.web.people.forms import ChooseDuplicateForm, ConfirmMergeForm
from incidents.web.people.views import blueprint


@blueprint.route("/people/<person:reference>/merge", methods=["GET"])
def merge_person(reference: str) -> str | tuple[str, int]:
    ctx = context()
    person_merge.person_to_keep(ctx, reference)  # another team's person: 404 before anything
    form = ChooseDuplicateForm(request.args)
    outcome = submit(form, lambda: person_merge.review(ctx, reference, form.duplicate.data))
    if outcome.accepted:
        review = outcome.result()
        confirm = ConfirmMergeForm(
            formdata=None, duplicate=review.duplicate.reference, fingerprint=review.fingerprint
        )
        return render_template("people/merge_review.html", review=review, form=confirm)
    # Possible duplicates are looked for (and decrypted) only when nothing was typed yet.
    start = person_merge.start(ctx, reference, suggest=not form.is_submitted())
    return render_template("people/merge.html", start=start, form=form), outcome.status


@blueprint.route("/people/<person:reference>/merge", methods=["POST"])
def confirm_merge(reference: str) -> Response | tuple[str, int]:
    ctx = context()
    person_merge.person_to_keep(ctx, reference)
    form = ConfirmMergeForm()
    outcome = submit(
        form,
        lambda: person_merge.merge(
            ctx, reference, form.duplicate.data or "", fingerprint=form.fingerprint.data
        ),
    )
    if outcome.accepted:
        note = outcome.result()
        return done(
            f"{note.merged_reference} is merged into {note.kept_reference}: "
            f"{_moved(note)} moved here. Both records are kept; the merge can be undone below.",
            "people.show_person",
            reference=note.kept_reference,
        )
    # Refused: the choice again, with the reason beside the reference (what was chosen kept).
    choose = ChooseDuplicateForm(formdata=None, duplicate=form.duplicate.data)
    choose.duplicate.errors = [*form.duplicate.errors, *form.fingerprint.errors]
    start = person_merge.start(ctx, reference, suggest=False)
    return render_template("people/merge.html", start=start, form=choose), REFUSED


@blueprint.route("/people/merges/<uuid:merge_id>/undo", methods=["POST"])
def undo_merge(merge_id: uuid.UUID) -> Response:
    ctx = context()
    note = person_merge.merge_note(ctx, merge_id)  # another team's merge: 404
    # A button: the only field is the CSRF token; a refusal is said on the person's page.
    outcome = submit(ActionForm(), lambda: person_merge.undo(ctx, merge_id))
    if not outcome.accepted:
        return redirect(url_for("people.show_person", reference=note.kept_reference))
    return done(
        f"The merge is undone: {note.merged_reference} is a record of its own again, and "
        f"{_moved(note)} went back to it.",
        "people.show_person",
        reference=note.kept_reference,
    )


def _moved(note: person_merge.MergeNote) -> str:
    acts = f"{note.acts} act" + ("" if note.acts == 1 else "s")
    consents = f"{note.consents} consent" + ("" if note.consents == 1 else "s")
    return f"{acts} and {consents}"
