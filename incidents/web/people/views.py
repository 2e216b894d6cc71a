"""People pages, for researchers: search by name, alias or date of birth; record a person
(with duplicate suggestions first); a person's detail.

Searches are POSTed: what a researcher types is a name, and names must not end up in
URLs, server access logs or browser history. Each search decrypts its candidates, which
the audit log records, so it is a state-changing request with a CSRF token as well.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from incidents.services import consent as consent_service
from incidents.services import erasure_reviews, person_matching, person_merge, related_cases
from incidents.services import people as people_service
from incidents.web.boundary import context
from incidents.web.forms import submit
from incidents.web.people.forms import PersonForm, SearchForm

blueprint = Blueprint("people", __name__)


@blueprint.route("/people", methods=["GET", "POST"])
def search() -> str | tuple[str, int]:
    people_service.ensure_people_access(context())
    form = SearchForm()
    outcome = submit(form, lambda: person_matching.search_people(context(), form.q.data))
    matches = outcome.result() if outcome.accepted else None
    return render_template("people/search.html", form=form, matches=matches), outcome.status


@blueprint.route("/people/new", methods=["GET", "POST"])
def new_person() -> str | Response | tuple[str, int]:
    ctx = context()
    people_service.ensure_people_access(ctx, write=True)
    teams = sorted(ctx.user.member_teams, key=lambda t: t.name)
    form = PersonForm()
    form.team.choices = [SelectChoice(str(t.id), t.name) for t in teams]
    if len(teams) == 1 and not form.is_submitted():
        form.team.data = str(teams[0].id)
    outcome = submit(
        form,
        lambda: people_service.register_person(
            ctx,
            uuid.UUID(form.team.data),
            form.details(),
            confirmed_different=bool(form.confirm_different.data),
        ),
    )
    if outcome.accepted:
        registration = outcome.result()
        if registration.person is not None:
            return redirect(url_for("people.show_person", reference=registration.person.reference))
        return render_template("people/new.html", form=form, duplicates=registration.duplicates)
    return render_template("people/new.html", form=form, duplicates=[]), outcome.status


@blueprint.route("/people/<person:reference>")
def show_person(reference: str) -> str | tuple[str, int]:
    # The record is looked up before the role is checked, so another team's person is
    # "not found" for every role (security check 11), as any other record is.
    view = people_service.view_person(context(), reference)
    if view.erasure is not None:  # only the tombstone is left; nothing was decrypted
        return render_template("errors/erased.html", tombstone=view.erasure), 410
    return render_person(view)


def render_person(view: people_service.PersonView, **extra: Any) -> str:
    """A person's page; its buttons' routes re-render it with their refused form in `extra`."""
    reference = view.reference
    return render_template(
        "people/detail.html",
        view=view,
        consent_section=consent_service.section(context(), reference),
        pending_reviews=erasure_reviews.pending_for(context(), reference),
        merges=person_merge.merge_state(context(), reference),
        related=related_cases.for_person(context(), view),
        **extra,
    )
