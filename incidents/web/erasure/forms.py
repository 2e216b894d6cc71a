"""The erasure form: a reason, and the reference typed again."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from incidents.services.erasure import MAX_REASON


class EraseForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        "Why is it erased?",
        validators=[
            DataRequired("Give a reason for the erasure."),
            Length(max=MAX_REASON, message="Keep the reason to at most %(max)d characters."),
        ],
    )
    confirm_reference = StringField(
        "Type the reference to confirm",
        validators=[
            DataRequired("Type the reference to confirm."),
            Length(max=40, message="Type the reference to confirm."),
        ],
    )
