"""Editing a person already recorded: the registry's form for the kind, with the lock
and both versions shown if someone else saved first. (Recording one is views.py, which
shows possible duplicates first.)"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.typing import ResponseReturnValue

from incidents.records.kinds import PERSON
from incidents.web.people.views import blueprint
from incidents.web.records.editing import Page, edit_page
from incidents.web.records.forms import form_for

PersonEditForm = form_for(PERSON)


def _saved(person: Any) -> tuple[str, dict[str, Any]]:
    return "people.show_person", {"reference": person.reference}


@blueprint.route("/people/<person:reference>/edit", methods=["GET", "POST"])
def edit_person(reference: str) -> ResponseReturnValue:
    page = Page(
        heading=f"Edit person {reference}",
        back_url=url_for("people.show_person", reference=reference),
        back_label=f"Person {reference}",
        submit_label="Save changes",
        lead="A changed name or other name is found by the name search straight away.",
    )
    return edit_page(PERSON, reference, PersonEditForm(), page, saved=_saved)
