"""Auditor pages: the audit log with filters, an incident's provenance trail, verify now.

Auditors read restricted fields and events, never a secret value: nothing here decrypts.
The log and the verify page need audit:read; the provenance trail needs provenance:read
on the incident's team (another team's incident does not exist: 404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from incidents.extensions import audit_signer
from incidents.services import auditor
from incidents.web.audit.forms import FilterForm, VerifyForm
from incidents.web.boundary import context, settings

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

# Only these query parameters go back into the paging links: anything else would reach
# url_for as a keyword (_method, _external, endpoint …) and fail or make absolute links.
FILTER_NAMES = ("actor", "action", "record", "since", "until")
LARGEST_POSITION = 2**63 - 1  # a BIGINT; larger cursors overflow the drivers


@blueprint.route("")
def log() -> str:
    form = FilterForm(request.args)
    before = _cursor()
    page = auditor.event_page(context(), form.filters(), before)
    arguments = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}
    return render_template(
        "audit/log.html", form=form, page=page, arguments=arguments, before=before
    )


def _cursor() -> int | None:
    """The `before` position: None when absent, not a number or no possible position."""
    before = request.args.get("before", type=int)
    return before if before is not None and 1 <= before <= LARGEST_POSITION else None


@blueprint.route("/incidents/<incident:reference>")
def provenance(reference: str) -> str:
    trail = auditor.provenance_trail(context(), reference)
    return render_template("audit/provenance.html", trail=trail)


@blueprint.route("/verify", methods=["GET", "POST"])
def verify() -> tuple[str, int]:
    ctx = context()
    page: dict[str, Any] = {
        "form": VerifyForm(),
        "head": auditor.current_head(ctx),
        "origin": settings().audit_log_origin,
        "vkey": audit_signer().verifier.vkey,
        "outcome": None,
        "checkpoint": None,
        "too_soon": None,
    }
    if request.method == "POST":  # CSRFProtect has checked the form's only field
        result = auditor.verify_for_auditor(ctx, audit_signer())
        page.update(outcome=result.outcome, checkpoint=result.checkpoint, too_soon=result.too_soon)
    status = 429 if page["too_soon"] is not None else 200
    return render_template("audit/verify.html", **page), status
