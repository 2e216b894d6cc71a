"""Which page shows a record of each kind: where the ways back from pages about one record
(erasing it, confirming the password to erase it) lead."""

from __future__ import annotations

from flask import current_app, url_for

from incidents.errors import NotFound
from incidents.records.kinds import kind_of_reference

# kind name -> the endpoint that shows one record of it, by reference
RECORD_PAGES = {
    "incident": "incidents.show_incident",
    "report": "reports.show_report",
    "source": "sources.show_source",
    "person": "people.show_person",
    "advocacy_action": "advocacy.show_action",
}


def record_page(reference: str) -> str | None:
    """The path of the page of the record `reference`; None for a kind without a page."""
    try:
        kind = kind_of_reference(reference)
    except NotFound:
        return None
    endpoint = RECORD_PAGES.get(kind.name)
    if endpoint is None or endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, reference=reference)
