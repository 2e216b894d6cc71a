"""The erasure form: a reason code, an optional note, and the reference typed again."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from incidents.models.vocabularies import ERASURE_REASON_LABELS, ErasureReason
from incidents.services.erasure import MAX_NOTE


class EraseForm(FlaskForm):  # type: ignore[misc]
    reason_code = SelectField(
        "Why is it erased?",
        choices=[SelectChoice("", "Choose a reason")]
        + [
            SelectChoice(reason.value, ERASURE_REASON_LABELS[reason.value].capitalize())
            for reason in ErasureReason
        ],
        validators=[DataRequired("Choose a reason for the erasure.")],
    )
    reason_note = TextAreaField(
        "Note (required when the reason is “other”)",
        validators=[Length(max=MAX_NOTE, message="Keep the note to at most %(max)d characters.")],
    )
    confirm_reference = StringField(
        "Type the reference to confirm",
        validators=[
            DataRequired("Type the reference to confirm."),
            Length(max=40, message="Type the reference to confirm."),
        ],
    )
