"""People pages, for researchers: search by name, alias or date of birth; record a person
(with duplicate suggestions first); a person's detail.

Searches are POSTed: what a researcher types is a name, and names must not end up in
URLs, server access logs or browser history. Each search decrypts its candidates, which
the audit log records, so it is a state-changing request with a CSRF token as well.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from incidents.crypto.blind_index import normalise_date
from incidents.errors import NotFound
from incidents.errors import ValidationError as DomainValidationError
from incidents.extensions import db, key_provider
from incidents.models.organisation import Team
from incidents.models.vocabularies import AgeBand, Gender, label
from incidents.services import people as people_service
from incidents.web.current import actor, current_account, settings, vault
from incidents.web.forms import show_errors

blueprint = Blueprint("people", __name__)

REFERENCE = re.compile(r"^PER-\d{4,}$")


def _date_of_birth(_form: FlaskForm, field: Any) -> None:
    if field.data and field.data.strip() and normalise_date(field.data) is None:
        raise ValidationError("Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 1991 or 1991-04-17.")


class SearchForm(FlaskForm):  # type: ignore[misc]
    q = StringField(
        "Name, alias or date of birth",
        validators=[
            DataRequired("Enter a name, an alias or a date of birth."),
            Length(max=people_service.MAX_QUERY),
        ],
    )


class PersonForm(FlaskForm):  # type: ignore[misc]
    full_name = StringField(
        "Full name",
        validators=[DataRequired("Enter a name."), Length(max=people_service.MAX_NAME)],
    )
    aliases = TextAreaField(
        "Other names and spellings (one per line)", validators=[Length(max=15000)]
    )
    date_of_birth = StringField(
        "Date of birth (YYYY, YYYY-MM or YYYY-MM-DD)", validators=[Length(max=10), _date_of_birth]
    )
    contact = TextAreaField(
        "How to reach them", validators=[Length(max=people_service.MAX_CONTACT)]
    )
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
    team = SelectField("Team", validators=[DataRequired("Choose a team.")])
    confirm_different = BooleanField("This is a different person — create anyway")


def _teams() -> list[Team]:
    return sorted((m.team for m in current_account().memberships), key=lambda t: t.name)


@blueprint.route("/people", methods=["GET", "POST"])
def search() -> str | tuple[str, int]:
    people_service.ensure_people_access(current_account())
    form = SearchForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("people/search.html", form=form, matches=None, label=label), status
    try:
        matches = people_service.search_people(
            db.session,
            vault(),
            key_provider(),
            current_account(),
            form.q.data,
            width=settings().blind_index_bytes,
        )
    except DomainValidationError as error:
        show_errors(form, error)
        return render_template("people/search.html", form=form, matches=None, label=label), 400
    db.session.commit()  # the candidates' decryption events
    return render_template("people/search.html", form=form, matches=matches, label=label)


@blueprint.route("/people/new", methods=["GET", "POST"])
def new_person() -> str | Response | tuple[str, int]:
    people_service.ensure_people_access(current_account(), write=True)
    teams = _teams()
    form = PersonForm()
    form.team.choices = [SelectChoice(str(t.id), t.name) for t in teams]
    if len(teams) == 1 and not form.is_submitted():
        form.team.data = str(teams[0].id)
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("people/new.html", form=form, duplicates=[], label=label), status
    team = next(t for t in teams if str(t.id) == form.team.data)
    try:
        outcome = people_service.register_person(
            db.session,
            vault(),
            key_provider(),
            actor(),
            current_account(),
            team,
            people_service.PersonDetails(
                form.full_name.data,
                form.aliases.data,
                form.date_of_birth.data,
                form.contact.data,
                Gender(form.gender.data),
                AgeBand(form.age_band.data),
            ),
            width=settings().blind_index_bytes,
            confirmed_different=bool(form.confirm_different.data),
        )
    except DomainValidationError as error:
        show_errors(form, error)
        return render_template("people/new.html", form=form, duplicates=[], label=label), 400
    db.session.commit()  # the person, or the duplicate check's decryption events
    if outcome.person is None:
        return render_template(
            "people/new.html", form=form, duplicates=outcome.duplicates, label=label
        )
    return redirect(url_for("people.show_person", reference=outcome.person.reference))


@blueprint.route("/people/<reference>")
def show_person(reference: str) -> str | tuple[str, int]:
    # The record is looked up before the role is checked, so another team's person is
    # "not found" for every role (SECURITY 11), as any other record is.
    if not REFERENCE.match(reference):
        raise NotFound(reference)
    view = people_service.view_person(db.session, vault(), current_account(), reference)
    if view.erasure is not None:  # only the tombstone is left; nothing was decrypted
        return render_template("errors/erased.html", tombstone=view.erasure), 410
    db.session.commit()  # the decryption's audit event
    return render_template("people/detail.html", view=view, label=label)
