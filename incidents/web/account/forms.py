"""The forms of one's own password and second factor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from incidents.web.auth.forms import CODE_MAX_LENGTH, password_field


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]
    current_password = password_field("Current password")
    new_password = password_field("New password")
    confirm_password = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("new_password", message="The two entries differ: type the new password twice."),
        ],
    )


class EnrolTwoFactorForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Six-digit code from the app",
        validators=[
            DataRequired("Enter the six-digit code."),
            Length(max=CODE_MAX_LENGTH, message="Enter the six-digit code from the app."),
        ],
    )
