"""The triage forms: a decision about one report (one form per row of the queue), and
the same decision about the reports chosen with the rows' checkboxes.

The fields are named after the report's attributes: the decision is the `status` it
gives, with the `incident` to link to and the `rejection_reason`.
"""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, ValidationError

from incidents.services.triage import Choice, Decision, Target

CHOOSE = "Choose what to do: mark as triaged, link to an incident or reject."
DECISIONS = [
    SelectChoice(Decision.TRIAGED.value, "Mark as triaged — looked at, not linked yet"),
    SelectChoice(Decision.LINKED.value, "Link to an incident"),
    SelectChoice(Decision.REJECTED.value, "Reject, with the reason"),
]
# What a chosen row's checkbox sends: the report's reference and the version shown.
CHOSEN = re.compile(r"([A-Z]{2,5}-[0-9]{4}-[0-9]{4,9}):([0-9]{1,9})")
NOT_FROM_THE_QUEUE = "Choose the reports with the checkboxes of the queue."


class _Decision(FlaskForm):  # type: ignore[misc]
    status = RadioField(
        "Decision",
        choices=DECISIONS,
        validate_choice=False,  # the validators below say it in words
        validators=[InputRequired(CHOOSE), AnyOf([c.value for c in DECISIONS], CHOOSE)],
    )
    incident = StringField("Incident to link to")
    rejection_reason = TextAreaField("Reason for rejecting")

    def choice(self) -> Choice:
        return Choice(
            Decision(self.status.data), self.incident.data or "", self.rejection_reason.data or ""
        )


class ReportDecisionForm(_Decision):
    """The decision about one report, made from the version the queue showed."""

    scope = HiddenField(default="report")
    report = HiddenField()
    lock_version = HiddenField()

    def target(self) -> Target:
        version = self.lock_version.data or ""
        # A version that is not a number is no version the report ever had: the lock refuses.
        number = version.isascii() and version.isdigit() and len(version) <= 9
        return Target(self.report.data or "", int(version) if number else -1)

    def identify(self, reference: str) -> None:
        """Ids of its own for each field of this row, so that every label finds its field."""
        for name in ("status", "incident", "rejection_reason"):
            field = self._fields[name]
            field.id = f"{reference}-{name}"
            field.label.field_id = field.id


class SelectedDecisionForm(_Decision):
    """One decision about every report chosen in the queue, all or nothing."""

    scope = HiddenField(default="selected")
    reports = SelectMultipleField("Chosen reports", validate_choice=False)

    def validate_reports(self, field: Field) -> None:
        if len(field.data or []) > 1000 or any(not CHOSEN.fullmatch(v) for v in field.data or []):
            raise ValidationError(NOT_FROM_THE_QUEUE)

    def targets(self) -> list[Target]:
        found = (CHOSEN.fullmatch(value) for value in self.reports.data or [])
        return [Target(m[1], int(m[2])) for m in found if m is not None]

    def chosen(self) -> set[str]:
        """The references chosen, to keep their boxes ticked when the page is shown again."""
        return {t.reference for t in self.targets()}
