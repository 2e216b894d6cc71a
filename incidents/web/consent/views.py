"""Consent pages, for researchers of the record's team: record a person's or a source's
consent to one use, and withdraw it from a day — which shows at once the reports and
advocacy actions that relied on it. The grants themselves are listed on the person's
and the source's pages (templates/consent/_section.html).

Each record is looked up before the role is checked, so another team's person, source
or consent is "not found" for every role (security check 11).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from incidents.errors import EditConflict
from incidents.models.vocabularies import label
from incidents.services import consent
from incidents.web.boundary import context
from incidents.web.consent.forms import GrantForm, RevokeForm
from incidents.web.forms import done, submit

blueprint = Blueprint("consent", __name__)

# Where each kind of owner is shown, with its consent section.
OWNER_PAGES = {"person": "people.show_person", "source": "sources.show_source"}
CONFLICT = 409


@blueprint.route("/people/<person:reference>/consents/new", methods=["GET", "POST"])
def new_person_consent(reference: str) -> ResponseReturnValue:
    return _grant_page("person", reference)


@blueprint.route("/sources/<source:reference>/consents/new", methods=["GET", "POST"])
def new_source_consent(reference: str) -> ResponseReturnValue:
    return _grant_page("source", reference)


def _grant_page(kind: str, reference: str) -> ResponseReturnValue:
    ctx = context()
    consent.owner_for_granting(ctx, kind, reference)
    form = GrantForm()
    if not form.is_submitted():
        form.granted_on.data = consent.today().isoformat()
    outcome = submit(form, lambda: consent.grant(ctx, reference, form.raw()))
    if outcome.accepted:
        given = outcome.result()
        return done(
            f"Recorded: {reference} consents to {label(given.use)} "
            f"from {given.granted_on.isoformat()}.",
            OWNER_PAGES[kind],
            reference=reference,
            _anchor="consent",
        )
    return render_template(
        "consent/new.html",
        form=form,
        kind=kind,
        reference=reference,
        owner_page=OWNER_PAGES[kind],
        section=consent.section(ctx, reference, conditions=False),
        explanations=consent.USE_EXPLANATIONS,
    ), outcome.status


@blueprint.route("/consents/<uuid:consent_id>/revoke", methods=["POST"])
def revoke(consent_id: uuid.UUID) -> ResponseReturnValue:
    ctx = context()
    target = consent.for_revoking(ctx, consent_id)
    form = RevokeForm()
    try:
        outcome = submit(
            form,
            lambda: consent.revoke(ctx, consent_id, form.revoked_on.data, form.lock_version.data),
        )
    except EditConflict:
        # Someone changed the grant meanwhile: show it as it is now, with the date typed.
        current = consent.for_revoking(ctx, consent_id)
        return _revoke_page(form, current, conflict=True), CONFLICT
    if outcome.accepted:
        revocation = outcome.result()
        return render_template(
            "consent/revoked.html",
            revocation=revocation,
            owner_page=OWNER_PAGES[revocation.target.owner_kind],
        )
    return _revoke_page(form, target), outcome.status


def _revoke_page(form: RevokeForm, target: consent.ConsentTarget, *, conflict: bool = False) -> str:
    return render_template(
        "consent/revoke.html",
        form=form,
        target=target,
        conflict=conflict,
        owner_page=OWNER_PAGES[target.owner_kind],
    )
