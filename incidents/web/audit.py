"""Auditor pages: the audit log with filters, an incident's provenance trail, verify now.

Auditors read restricted fields and events, never a secret value: nothing here decrypts.
The log and the verify page need audit:read; the provenance trail needs provenance:read
on the incident's team (another team's incident does not exist: 404).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from wtforms import DateField, Field, StringField
from wtforms.validators import Length, Optional, ValidationError

from incidents.errors import NotFound
from incidents.extensions import audit_signer, db
from incidents.models.vocabularies import CREDIBILITY_LABELS, RELIABILITY_LABELS, label
from incidents.repositories.audit import EventFilter
from incidents.services import audit as audit_service
from incidents.web.current import actor, current_account, settings
from incidents.web.incidents import REFERENCE

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Only these query parameters go back into the paging links: anything else would reach
# url_for as a keyword (_method, _external, endpoint …) and fail or make absolute links.
FILTER_NAMES = ("actor", "action", "record", "since", "until")
LARGEST_POSITION = 2**63 - 1  # a BIGINT; larger cursors overflow the drivers


def _no_control_characters(form: FlaskForm, field: Field) -> None:
    if field.data and CONTROL.search(field.data):  # PostgreSQL refuses NUL in text
        raise ValidationError("Remove the control characters.")


class FilterForm(FlaskForm):  # type: ignore[misc]
    """A GET search form: it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(
        "Who (e-mail contains)",
        validators=[Optional(), Length(max=254), _no_control_characters],
    )
    action = StringField(
        "Action (starts with)", validators=[Optional(), Length(max=64), _no_control_characters]
    )
    record = StringField(
        "Record (reference or id)",
        validators=[Optional(), Length(max=64), _no_control_characters],
    )
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])

    def validate_until(self, field: Field) -> None:
        if field.data is not None and field.data >= date.max:  # the day after overflows
            raise ValidationError(f"Enter a date before {date.max.isoformat()}.")


class VerifyForm(FlaskForm):  # type: ignore[misc]
    """Verifying reads the whole log and records a checkpoint: a POST with a CSRF token."""


@blueprint.route("")
def log() -> str:
    form = FilterForm(request.args)
    filters = EventFilter()
    if form.validate():  # invalid filters are shown with their errors and not applied
        filters = EventFilter(
            actor=(form.actor.data or "").strip() or None,
            action=(form.action.data or "").strip() or None,
            record=(form.record.data or "").strip() or None,
            since=form.since.data,
            until=form.until.data,
        )
    before = _cursor()
    page = audit_service.event_page(db.session, current_account(), filters, before)
    arguments = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}
    return render_template(
        "audit/log.html", form=form, page=page, arguments=arguments, before=before
    )


def _cursor() -> int | None:
    """The `before` position: None when absent, not a number or no possible position."""
    before = request.args.get("before", type=int)
    return before if before is not None and 1 <= before <= LARGEST_POSITION else None


@blueprint.route("/incidents/<reference>")
def provenance(reference: str) -> str:
    if not REFERENCE.match(reference):
        raise NotFound(reference)
    trail = audit_service.provenance_trail(db.session, current_account(), reference)
    return render_template(
        "audit/provenance.html",
        trail=trail,
        label=label,
        credibility_labels=CREDIBILITY_LABELS,
        reliability_labels=RELIABILITY_LABELS,
    )


@blueprint.route("/verify", methods=["GET", "POST"])
def verify() -> tuple[str, int]:
    user = current_account()
    head = audit_service.current_head(db.session, user)
    context: dict[str, Any] = {
        "form": VerifyForm(),
        "head": head,
        "origin": settings().audit_log_origin,
        "vkey": audit_signer().verifier.vkey,
        "outcome": None,
        "checkpoint": None,
        "too_soon": None,
    }
    if request.method == "POST":  # CSRFProtect has checked the form's only field
        result = audit_service.verify_for_auditor(
            db.session, user, audit_signer(), settings().audit_log_origin, actor()
        )
        db.session.commit()  # the checkpoint (or the failure) is recorded in the log
        context.update(
            outcome=result.outcome, checkpoint=result.checkpoint, too_soon=result.too_soon
        )
    status = 429 if context["too_soon"] is not None else 200
    return render_template("audit/verify.html", **context), status
