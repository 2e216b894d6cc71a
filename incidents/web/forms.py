"""What every form of the site shares: the one way a form is handled, the one status of a
refused form, errors next to their fields, and the fields used in several areas.

Flask-WTF gives every form its CSRF token (it ships no types, hence the ignores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from flask import flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, SelectMultipleField, widgets
from wtforms.validators import DataRequired, EqualTo, Length

from incidents.errors import ValidationError
from incidents.services.passwords import MAX_PASSWORD_LENGTH
from incidents.web import boundary

T = TypeVar("T")

OK = 200
REFUSED = 422  # a form that was sent and cannot be accepted: shown again with its errors


@dataclass(frozen=True)
class Submission(Generic[T]):
    """How handling a form went: `accepted`, with the service's `value`, or not (the form
    is shown, again or for the first time, with `status`)."""

    status: int = OK
    accepted: bool = False
    value: T | None = None

    def result(self) -> T:
        assert self.accepted, "the form was not accepted"
        return cast(T, self.value)


def submit(form: FlaskForm, action: Callable[[], T]) -> Submission[T]:
    """Validate `form` and, when it is valid, run `action` — one service call — in a
    savepoint. A form not sent yet is shown (OK); an invalid one, or one the service refuses,
    is REFUSED with every message beside its field, and what the action wrote is undone
    (what the request did before it stays)."""
    if not form.is_submitted():
        return Submission()
    if not form.validate():
        return Submission(REFUSED)
    try:
        with boundary.attempt():
            value = action()
    except ValidationError as error:
        show_errors(form, error)
        return Submission(REFUSED)
    return Submission(OK, True, value)


def show_errors(form: FlaskForm, error: ValidationError) -> None:
    """Put a service's messages beside the fields they are about; a message about no
    field of the form is flashed."""
    for name, message in (error.errors or {"": str(error)}).items():
        field = form._fields.get(name)
        if field is None:
            flash(message, "error")
        else:
            field.errors = [*field.errors, message]


def done(message: str, endpoint: str, **values: Any) -> Response:
    """Say what happened and go on to the page of the result (post/redirect/get)."""
    flash(message, "info")
    return redirect(url_for(endpoint, **values))


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes state: only the CSRF token."""


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as checkboxes (roles, teams), readable without JavaScript."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def password_field(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired("Enter the password."),
            Length(max=MAX_PASSWORD_LENGTH, message="Use at most %(max)d characters."),
        ],
    )


def confirmation_of(name: str, label: str) -> PasswordField:
    """The same password typed again, so that a typing slip cannot lock anyone out."""
    return PasswordField(
        label,
        validators=[
            DataRequired("Enter the password again."),
            EqualTo(name, message="The two entries differ: type the password twice."),
        ],
    )
