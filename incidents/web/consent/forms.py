"""The consent forms: a grant of one use, and its withdrawal.

The service checks every value (the record registry's one validator) and its messages
are shown beside the fields; the forms only carry what was typed, kept as typed.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from incidents.models.vocabularies import ConsentUse, label

DATE = {"type": "date", "placeholder": "YYYY-MM-DD"}


class GrantForm(FlaskForm):  # type: ignore[misc]
    # A use is chosen on purpose: no use is preselected.
    use = SelectField(
        "Use",
        choices=[SelectChoice("", "Choose a use…")]
        + [SelectChoice(use.value, label(use)) for use in ConsentUse],
        validate_choice=False,  # the service names a value not in the list
    )
    granted_on = StringField("Date given", render_kw=DATE)
    notes = TextAreaField("Conditions, in their words (optional)")

    def raw(self) -> dict[str, Any]:
        """What was entered, as the service takes it."""
        return {"use": self.use.data, "granted_on": self.granted_on.data, "notes": self.notes.data}


class RevokeForm(FlaskForm):  # type: ignore[misc]
    revoked_on = StringField("Withdrawn from", render_kw=DATE)
    # The version the page showed: a withdrawal made from an older one is a conflict.
    lock_version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("Open the page again and retry.")]
    )
