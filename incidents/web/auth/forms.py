"""The forms of logging in, the second factor, re-authentication and logging out."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from incidents.web.forms import password_field

CODE_MAX_LENGTH = 40  # a six-digit code or a recovery code with its hyphens and spaces
CODE_LABEL = "Code from your authenticator, or a recovery code"


def code_field() -> StringField:
    return StringField(
        CODE_LABEL,
        validators=[
            DataRequired("Enter the code."),
            Length(
                max=CODE_MAX_LENGTH, message="Enter the code of six digits or the recovery code."
            ),
        ],
    )


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=254, message="Use at most %(max)d characters."),
        ],
    )
    password = password_field()


class SecondFactorForm(FlaskForm):  # type: ignore[misc]
    code = code_field()


class ReauthenticateForm(FlaskForm):  # type: ignore[misc]
    """Password again, plus a second-factor code when the account has one."""

    password = password_field()
    code = code_field()


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Logging out changes state, so it is a POST with a CSRF token."""
