"""The decision on one erasure review: erase or keep, a note, the version decided from.

The service checks the decision and requires the note for keeping; the form carries what
was typed, kept as typed.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from incidents.services.erasure_reviews import ERASE, KEEP

DECISION_CHOICES = [
    SelectChoice(ERASE, "Erase the record (consent withdrawn) — it cannot be undone"),
    SelectChoice(KEEP, "Keep the record, for the reason given in the note"),
]


class DecisionForm(FlaskForm):  # type: ignore[misc]
    decision = RadioField(
        "Decision",
        choices=DECISION_CHOICES,
        validate_choice=False,  # the service names a missing or unknown decision
    )
    note = TextAreaField("Note (required to keep the record)")
    # The version the page showed: a decision made from an older one is refused.
    lock_version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("Open the review again and retry.")]
    )
