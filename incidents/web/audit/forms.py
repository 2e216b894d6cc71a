"""The auditor's filters and the verify button."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, Field, StringField
from wtforms.validators import Length, Optional, ValidationError

from incidents.audit.filters import EventFilter

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TOO_LONG = "Use at most %(max)d characters."


def _no_control_characters(form: FlaskForm, field: Field) -> None:
    if field.data and CONTROL.search(field.data):  # PostgreSQL refuses NUL in text
        raise ValidationError("Remove the control characters.")


class FilterForm(FlaskForm):  # type: ignore[misc]
    """A GET search form: it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(
        "Who (e-mail contains)",
        validators=[Optional(), Length(max=254, message=TOO_LONG), _no_control_characters],
    )
    action = StringField(
        "Action (starts with)",
        validators=[Optional(), Length(max=64, message=TOO_LONG), _no_control_characters],
    )
    record = StringField(
        "Record (reference or id)",
        validators=[Optional(), Length(max=64, message=TOO_LONG), _no_control_characters],
    )
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])

    def validate_until(self, field: Field) -> None:
        if field.data is not None and field.data >= date.max:  # the day after overflows
            raise ValidationError(f"Enter a date before {date.max.isoformat()}.")

    def filters(self) -> EventFilter:
        """The filters asked for; none when the form is not valid (its errors are shown)."""
        if not self.validate():
            return EventFilter()
        return EventFilter(
            actor=(self.actor.data or "").strip() or None,
            action=(self.action.data or "").strip() or None,
            record=(self.record.data or "").strip() or None,
            since=self.since.data,
            until=self.until.data,
        )


class VerifyForm(FlaskForm):  # type: ignore[misc]
    """Verifying reads the whole log and records a checkpoint: a POST with a CSRF token."""
