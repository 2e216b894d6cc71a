"""The import form: the file, the team of rows that name none, what a CSV holds, and
whether only to check. The service judges every value of the file; the form only
carries the choices made, kept as made when the page answers."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectChoice, SelectField

from incidents.records.kind import RecordKind

CHOOSE_FILE = "Choose the file to import: a JSON export, a CSV or a ZIP of CSVs."


class ImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField("File")
    team = SelectField("Team of the rows that name none", validate_choice=False)
    kind = SelectField("What a CSV holds", validate_choice=False)
    # Checked by default: a first try shows what would happen and changes nothing.
    dry_run = BooleanField("Only check — change nothing", default=True)

    @classmethod
    def offering(cls, teams: Sequence[tuple[str, str]], kinds: Sequence[RecordKind]) -> ImportForm:
        form = cls()
        form.team.choices = [SelectChoice(slug, name) for slug, name in teams]
        # The example is a kind the reader may import: an advocacy lead has no report.csv.
        example = f"{kinds[0].name}.csv, …" if kinds else "…"
        form.kind.choices = [SelectChoice("", f"As its file name says ({example})")] + [
            SelectChoice(kind.name, kind.label) for kind in kinds
        ]
        return form

    def sent_file(self) -> bool:
        """Whether a file was chosen; if not, the field says so."""
        data = self.file.data
        if data is None or not getattr(data, "filename", ""):
            self.file.errors = [*self.file.errors, CHOOSE_FILE]
            return False
        return True
