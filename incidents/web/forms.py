"""Web forms (Flask-WTF: every form carries a CSRF token; it ships no types, hence the ignores)."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length

from incidents.errors import ValidationError
from incidents.services.passwords import MAX_PASSWORD_LENGTH

CODE_MAX_LENGTH = 40  # a six-digit code or a recovery code with its hyphens and spaces


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class SecondFactorForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Code from your authenticator, or a recovery code",
        validators=[DataRequired(), Length(max=CODE_MAX_LENGTH)],
    )


class ReauthenticateForm(FlaskForm):  # type: ignore[misc]
    """Password again, plus a second-factor code when the account has one."""

    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    code = StringField(
        "Code from your authenticator, or a recovery code",
        validators=[DataRequired(), Length(max=CODE_MAX_LENGTH)],
    )


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="the two entries differ")],
    )


class EnrolTwoFactorForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Six-digit code from the app", validators=[DataRequired(), Length(max=CODE_MAX_LENGTH)]
    )


class EraseForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField("Why is it erased?", validators=[DataRequired(), Length(max=1000)])
    confirm_reference = StringField(
        "Type the reference to confirm", validators=[DataRequired(), Length(max=40)]
    )


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Logging out changes state, so it is a POST with a CSRF token."""


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes state: only the CSRF token."""


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as checkboxes (roles, teams), readable without JavaScript."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def show_errors(form: FlaskForm, error: ValidationError) -> None:
    """Put a service's validation messages beside the fields they are about; a message
    about no field of the form is flashed."""
    for name, message in (error.errors or {"": str(error)}).items():
        field = form._fields.get(name)
        if field is None:
            flash(message, "error")
        else:
            field.errors = [*field.errors, message]
