"""The forms of one's own password, second factor and API tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from incidents.permissions import Scope
from incidents.services import api_tokens
from incidents.web.auth.forms import CODE_MAX_LENGTH
from incidents.web.forms import MultiCheckboxField, confirmation_of, password_field

# What each scope lets a token do, as the form offers it; always within the user's roles.
SCOPE_LABELS = {
    Scope.CASES_READ: "cases:read — read case records, as your roles let you",
    Scope.CASES_WRITE: "cases:write — record and change case records",
    Scope.ADVOCACY_READ: "advocacy:read — read advocacy actions, campaigns and follow-ups",
    Scope.ADVOCACY_WRITE: "advocacy:write — record and change advocacy work",
    Scope.AUDIT_READ: "audit:read — read the audit log",
}


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]
    current_password = password_field("Current password")
    new_password = password_field("New password")
    confirm_password = confirmation_of("new_password", "New password again")


class DuressPasswordForm(FlaskForm):  # type: ignore[misc]
    duress_password = password_field("Duress password")
    confirm_password = confirmation_of("duress_password", "Duress password again")


class EnrolTwoFactorForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Six-digit code from the app",
        validators=[
            DataRequired("Enter the six-digit code."),
            Length(max=CODE_MAX_LENGTH, message="Enter the six-digit code from the app."),
        ],
    )


DAYS_MESSAGE = f"Enter a number of days from 1 to {api_tokens.MAX_EXPIRY_DAYS}."


class DaysField(IntegerField):  # type: ignore[misc]
    """A whole number of days, with a message that says what to type instead."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DAYS_MESSAGE) from None


class NewApiTokenForm(FlaskForm):  # type: ignore[misc]
    """A new personal API token; the scopes offered are set from the user's roles."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the token a name that says where it is used."),
            Length(
                max=api_tokens.MAX_NAME_LENGTH,
                message="Use at most %(max)d characters for the name.",
            ),
        ],
    )
    # The service refuses a scope the roles cannot use, with a message saying which to
    # choose; the field's own "not a valid choice" would say less.
    scopes = MultiCheckboxField("What it may do", validate_choice=False)
    expires_in_days = DaysField(
        "Days until it stops working",
        default=api_tokens.DEFAULT_EXPIRY_DAYS,
        validators=[InputRequired(DAYS_MESSAGE)],
    )

    def offer(self, scopes: tuple[Scope, ...]) -> None:
        self.scopes.choices = [(scope.value, SCOPE_LABELS[scope]) for scope in scopes]
