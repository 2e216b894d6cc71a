"""Auditor pages: the audit log with filters, an incident's provenance trail, verify now.

Auditors read restricted fields and events, never a secret value: nothing here decrypts.
The log and the verify page need audit:read; the provenance trail needs provenance:read
on the incident's team (another team's incident does not exist: 404).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from incidents.extensions import audit_signer
from incidents.services import auditor
from incidents.web.audit.forms import FilterForm, VerifyForm
from incidents.web.boundary import context, settings

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

# Only these query parameters go back into the paging links: anything else would reach
# url_for as a keyword (_method, _external, endpoint …) and fail or make absolute links.
FILTER_NAMES = ("actor", "action", "record", "since", "until")
LARGEST_POSITION = 2**63 - 1  # a BIGINT; larger cursors overflow the drivers


@blueprint.app_template_filter("event_value")
def event_value(value: object) -> str:
    """A detail value as a reader would write it: nothing for a missing value (the page
    shows a dash), lists joined by commas, never Python's spelling of None or a list."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(filter(None, map(event_value, value)))
    if isinstance(value, dict):
        return "; ".join(f"{key}: {event_value(item) or '—'}" for key, item in value.items())
    return str(value)


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
def verify() -> str:
    """Verify now, at most once in auditor.VERIFY_INTERVAL: asked again sooner, the page
    (an ordinary 200) says when the last verification ran and when the next one can."""
    ctx = context()
    result = None
    if request.method == "POST":  # CSRFProtect has checked the form's only field
        result = auditor.verify_for_auditor(ctx, audit_signer())
    return render_template(
        "audit/verify.html",
        form=VerifyForm(),
        head=auditor.current_head(ctx),
        origin=settings().audit_log_origin,
        vkey=audit_signer().verifier.vkey,
        outcome=result.outcome if result else None,
        checkpoint=result.checkpoint if result else None,
        refused=result.too_soon if result else None,
        # After a verification just now, this is that one, so the page says when the
        # next can run; on a plain visit, the one that holds the button back, if any.
        recent=auditor.recent_verification(ctx),
        last_checkpoint=auditor.last_checkpoint(ctx),
    )


@blueprint.route("/checkpoint")
def download_checkpoint() -> Response:
    """The newest signed checkpoint as a file to keep outside the installation."""
    recorded = auditor.last_checkpoint(context())
    if recorded is None:
        flash("No checkpoint has been recorded yet: verify the log to make one.", "info")
        return redirect(url_for("audit.verify"))
    stamp = recorded.recorded_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"audit-log-{stamp}-{recorded.size}-events.checkpoint"
    return Response(
        recorded.note,
        mimetype="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
