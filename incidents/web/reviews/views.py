"""Erasure review pages, for researchers (case:write) of the record's team: the queue of
their teams' records whose consent to be kept in the database was withdrawn, and one
page per item to erase the record or keep it with a justification.

A review is looked up before the role is checked, so another team's is "not found" for
every role (security check 11). Deciding asks for the password again when it was entered
long ago, as erasing does anywhere else.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from incidents.services import erasure_reviews
from incidents.web.boundary import context
from incidents.web.forms import done, submit
from incidents.web.reviews.forms import DecisionForm
from incidents.web.security import recent_login_required

blueprint = Blueprint("reviews", __name__)


@blueprint.route("/erasure/reviews")
def queue() -> ResponseReturnValue:
    return render_template("reviews/queue.html", queue=erasure_reviews.queue_of(context()))


@blueprint.route("/erasure/reviews/<uuid:review_id>", methods=["GET", "POST"])
@recent_login_required
def decide(review_id: uuid.UUID) -> ResponseReturnValue:
    ctx = context()
    review = erasure_reviews.for_decision(ctx, review_id)
    form = DecisionForm()
    outcome = submit(
        form,
        lambda: erasure_reviews.decide(
            ctx, review_id, form.decision.data, form.note.data, form.lock_version.data
        ),
    )
    if outcome.accepted:
        decided = outcome.result()
        verb = "erased" if decided.state.value == "erased" else "kept"
        return done(f"{decided.reference} is {verb}; the decision is recorded.", "reviews.queue")
    return render_template("reviews/decide.html", form=form, review=review), outcome.status
