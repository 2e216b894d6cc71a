"""The export form: what to export (the profiles the reader may use) and in which format."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.validators import AnyOf, InputRequired

from incidents.redaction import Profile

CHOOSE_PROFILE = "Choose what to export: one of the kinds of export listed."
CHOOSE_FORMAT = "Choose a format: JSON or CSV."
PROFILE_LABELS = {
    Profile.FULL: "Full records — every field, secret fields decrypted",
    Profile.INTERNAL: "Internal records — public, restricted, advocacy fields; nothing decrypted",
    Profile.PARTNER: "Partner summaries — redacted cases whose reports may go to named partners",
    Profile.PUBLIC: "Public summaries — redacted cases whose reports may be published unnamed",
}
FORMATS = [
    SelectChoice("json", "JSON — one document"),
    SelectChoice("csv", "CSV — records: a ZIP of one file per kind; summaries: one row a case"),
]


class ExportForm(FlaskForm):  # type: ignore[misc]
    profile = RadioField("What to export", validate_choice=False)
    format = RadioField(
        "Format",
        choices=FORMATS,
        default="json",
        validate_choice=False,  # the validators say it in words
        validators=[InputRequired(CHOOSE_FORMAT), AnyOf([c.value for c in FORMATS], CHOOSE_FORMAT)],
    )

    @classmethod
    def offering(cls, profiles: Sequence[Profile]) -> ExportForm:
        """The form with the profiles this reader may export, and only those accepted."""
        form = cls()
        values = [p.value for p in profiles]
        form.profile.choices = [SelectChoice(p.value, PROFILE_LABELS[p]) for p in profiles]
        form.profile.validators = [InputRequired(CHOOSE_PROFILE), AnyOf(values, CHOOSE_PROFILE)]
        if not form.is_submitted() and len(values) == 1:
            form.profile.data = values[0]  # the one choice there is, already chosen
        return form

    def chosen(self) -> tuple[Profile, str]:
        return Profile(self.profile.data), str(self.format.data)
