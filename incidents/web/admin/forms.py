"""The administration forms: a new user, roles and teams, a password, a new team."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectChoice, StringField
from wtforms.validators import AnyOf, DataRequired, Length
from wtforms.validators import ValidationError as FieldError

from incidents.models.vocabularies import Role, label
from incidents.services import accounts
from incidents.services.passwords import MIN_PASSWORD_LENGTH, password_problem
from incidents.web.forms import MultiCheckboxField, confirmation_of, password_field

PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters; common and easily guessed passwords are "
    "refused. Give it to the person by a safe channel and ask them to change it."
)
ROLE_HINT = (
    "A user may hold several roles. An administrator manages accounts and teams and sees "
    "no case records; a user without a role can log in but see nothing."
)
TEAM_HINT = "A user sees only the case records of their teams."
TOO_LONG = "Use at most %(max)d characters."


class AccessForm(FlaskForm):  # type: ignore[misc]
    """Roles and team memberships, changed together in one POST."""

    roles = MultiCheckboxField("Roles", choices=[SelectChoice(r.value, label(r)) for r in Role])
    teams = MultiCheckboxField("Teams")


class NewUserForm(AccessForm):
    email = EmailField(
        "E-mail",
        validators=[DataRequired("Enter an e-mail address."), Length(max=254, message=TOO_LONG)],
    )
    display_name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name."),
            Length(max=accounts.MAX_NAME_LENGTH, message=TOO_LONG),
        ],
    )
    password = password_field("Initial password")

    def validate_password(self, field: Any) -> None:
        """The same rules the service applies, shown beside the other fields' errors."""
        problem = password_problem(
            field.data or "",
            accounts.personal_words(self.email.data or "", self.display_name.data or ""),
        )
        if problem is not None:
            raise FieldError(problem)


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = password_field("New password")
    confirm_password = confirmation_of("password", "New password again")


class NewTeamForm(FlaskForm):  # type: ignore[misc]
    slug = StringField(
        "Short name",
        validators=[
            DataRequired("Enter a short name."),
            Length(max=accounts.MAX_SLUG_LENGTH, message=TOO_LONG),
        ],
    )
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name."),
            Length(max=accounts.MAX_NAME_LENGTH, message=TOO_LONG),
        ],
    )


class InstallationAuditorForm(FlaskForm):  # type: ignore[misc]
    """A button that gives or takes the whole audit log: which one, and the CSRF token."""

    installation_auditor = HiddenField(
        "Installation auditor",
        validators=[
            AnyOf(("grant", "revoke"), message="Choose to grant or to revoke the whole audit log.")
        ],
    )
