"""A person's related-cases buttons: the incidents of another person of the team
recorded under the same name, dismissed or shown again (incidents/web/incidents/related.py)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from incidents.records.kinds import PERSON
from incidents.services import people as people_service
from incidents.web.boundary import context
from incidents.web.incidents.related import handle
from incidents.web.people.views import blueprint, render_person


@blueprint.route("/people/<person:reference>/related", methods=["POST"])
def related_cases(reference: str) -> ResponseReturnValue:
    return handle(
        PERSON,
        reference,
        "people.show_person",
        lambda form: render_person(
            people_service.view_person(context(), reference), related_form=form
        ),
    )
