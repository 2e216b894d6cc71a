"""The forms of one's own password and second factor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from incidents.web.auth.forms import CODE_MAX_LENGTH
from incidents.web.forms import confirmation_of, password_field


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]
    current_password = password_field("Current password")
    new_password = password_field("New password")
    confirm_password = confirmation_of("new_password", "New password again")


class EnrolTwoFactorForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Six-digit code from the app",
        validators=[
            DataRequired("Enter the six-digit code."),
            Length(max=CODE_MAX_LENGTH, message="Enter the six-digit code from the app."),
        ],
    )
