"""The import page: a JSON export, a CSV or a ZIP of CSVs, checked whole and imported
whole or not at all; and the CSV templates to fill in."""

from incidents.web.imports.views import blueprint

__all__ = ["blueprint"]
