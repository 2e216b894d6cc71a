"""The people forms: a search, and a person to record."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from incidents.models.vocabularies import AgeBand, Gender, label
from incidents.services.person_matching import MAX_QUERY
from incidents.web.drafts import DraftForm

TOO_LONG = "Use at most %(max)d characters."


class SearchForm(FlaskForm):  # type: ignore[misc]
    q = StringField(
        "Name, alias, date of birth or reference",
        validators=[
            DataRequired("Enter a name, an alias or a date of birth."),
            Length(max=MAX_QUERY, message=TOO_LONG),
        ],
    )


class PersonForm(DraftForm):
    """What is typed about a person; the service checks every field (the record registry's
    one validator) and its messages are shown beside them. Kept as a draft when the
    session ends before it is sent (incidents/web/drafts.py)."""

    full_name = StringField("Full name", validators=[DataRequired("Enter a name.")])
    aliases = TextAreaField("Other names and spellings (one per line)")
    date_of_birth = StringField("Date of birth (YYYY, YYYY-MM or YYYY-MM-DD)")
    contact = TextAreaField("How to reach them")
    gender = SelectField(
        "Gender",
        choices=[SelectChoice(g.value, label(g)) for g in Gender],
        default=Gender.UNKNOWN.value,
    )
    age_band = SelectField(
        "Age band",
        choices=[SelectChoice(a.value, label(a)) for a in AgeBand],
        default=AgeBand.UNKNOWN.value,
    )
    sexual_orientation = StringField("Sexual orientation (as they describe it)")
    gender_identity = StringField("Gender identity (as they describe it)")
    team = SelectField("Team", validators=[DataRequired("Choose a team.")])
    confirm_different = BooleanField("This is a different person — create anyway")

    DETAILS = (
        "full_name",
        "aliases",
        "date_of_birth",
        "contact",
        "gender",
        "age_band",
        "sexual_orientation",
        "gender_identity",
    )

    def details(self) -> dict[str, Any]:
        """What was entered about the person, as the service takes it."""
        return {name: self._fields[name].data for name in self.DETAILS}


OTHER_RECORD = "Enter the reference of the other record, such as PER-0042."


class ChooseDuplicateForm(FlaskForm):  # type: ignore[misc]
    """The other record of a merge, sent by GET: it only opens the comparison, which
    changes nothing but the audit log, so it carries no CSRF token and its reference (a
    pseudonym, never a name) may stand in the URL."""

    class Meta:
        csrf = False

    duplicate = StringField(
        "Reference of the other record",
        validators=[DataRequired(OTHER_RECORD), Length(max=40, message=OTHER_RECORD)],
    )

    def is_submitted(self) -> bool:
        return "duplicate" in request.args


class ConfirmMergeForm(FlaskForm):  # type: ignore[misc]
    """The merge as reviewed: the other record and what the review showed would move."""

    duplicate = HiddenField(validators=[DataRequired(OTHER_RECORD), Length(max=40)])
    fingerprint = HiddenField(
        validators=[DataRequired("Open the comparison again, then confirm."), Length(max=64)]
    )
