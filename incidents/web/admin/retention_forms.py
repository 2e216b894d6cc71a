"""The forms of the retention page: a new rule, a new legal hold, and the buttons that
remove a rule or release a hold (each names its row in a hidden field)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from incidents.models.retention import PeriodUnit
from incidents.records.retention_dates import FROM_DATES, RETAINED_KINDS
from incidents.services.retention_rules import MAX_REASON, WHOLE_RECORD, secret_fields

TOO_LONG = "Use at most %(max)d characters."


def _field_choices() -> list[SelectChoice]:
    """Every secret field a rule may name, once, with the kinds that have it."""
    kinds_of: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for kind in RETAINED_KINDS:
        for name, label in secret_fields(kind):
            kinds_of.setdefault(name, []).append(kind.label)
            labels.setdefault(name, label)
    return [SelectChoice(WHOLE_RECORD, "The whole record")] + [
        SelectChoice(name, f"{labels[name]} ({', '.join(kinds)})")
        for name, kinds in kinds_of.items()
    ]


def _from_date_choices() -> list[SelectChoice]:
    kinds_of: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for kind, dates in FROM_DATES.items():
        for since in dates:
            kinds_of.setdefault(since.key, []).append(kind)
            labels.setdefault(since.key, since.label)
    every = len(FROM_DATES)
    return [
        SelectChoice(
            key, f"when {labels[key]}" + ("" if len(kinds) == every else f" ({', '.join(kinds)})")
        )
        for key, kinds in kinds_of.items()
    ]


class RetentionRuleForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(
        "Kind of record",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(k.name, k.label) for k in RETAINED_KINDS],
        validate_choice=False,  # the service names the kinds in its message
    )
    field = SelectField("What is shredded", choices=_field_choices(), validate_choice=False)
    period_count = StringField("Kept for", validators=[Length(max=6, message=TOO_LONG)])
    period_unit = SelectField(
        "Unit", choices=[SelectChoice(u.value, u.value) for u in PeriodUnit], validate_choice=False
    )
    from_date = SelectField("Counted from", choices=_from_date_choices(), validate_choice=False)


class LegalHoldForm(FlaskForm):  # type: ignore[misc]
    reference = StringField(
        "Record",
        validators=[
            DataRequired("Enter the reference of the record."),
            Length(max=40, message=TOO_LONG),
        ],
    )
    reason = TextAreaField(
        "Reason",
        validators=[
            DataRequired("Give the reason for the hold (a case number, not a name)."),
            Length(max=MAX_REASON, message=TOO_LONG),
        ],
    )


class RemoveRuleForm(FlaskForm):  # type: ignore[misc]
    rule_id = HiddenField()


class ReleaseHoldForm(FlaskForm):  # type: ignore[misc]
    hold_id = HiddenField()
