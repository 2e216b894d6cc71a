"""Evidence pages: upload a file to a report, download it decrypted (researchers of the team).

Uploads are spooled encrypted while the form is received (incidents/web/evidence/uploads.py).
"""

from __future__ import annotations

import io
import logging
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from incidents.errors import DecryptionError, StorageFull, ValidationError
from incidents.models.report import Report
from incidents.services import incidents as incident_service
from incidents.services import reports as report_service
from incidents.services.evidence import download, intake
from incidents.services.evidence.policy import EvidenceTooLarge, human_size
from incidents.storage.store import StoredFileMissing
from incidents.web.boundary import attempt, context, settings
from incidents.web.errors import render_error
from incidents.web.evidence.downloads import file_response
from incidents.web.evidence.uploads import may_upload
from incidents.web.incidents import render_incident
from incidents.web.outage import INSUFFICIENT_STORAGE

log = logging.getLogger(__name__)

blueprint = Blueprint("evidence", __name__)


def _upload_form_page(report: Report, form: dict[str, Any], status: int) -> Any:
    """The page the form was on again — the incident's, or the report's own for a report
    not linked to one — with the upload form's error and what was typed kept."""
    if report.incident is None:
        own = report_service.view_report(context(), report.reference)
        return render_template("reports/detail.html", view=own, evidence_form=form), status
    view = incident_service.view_incident(context(), report.incident.reference)
    return render_incident(view, evidence_form=form), status


@blueprint.post("/reports/<report:reference>/evidence")
def upload(reference: str) -> Any:
    ctx = context()
    report = intake.find_report(ctx, reference)
    sent = request.files.get("file")
    description = request.form.get("description", "")
    try:
        with attempt():
            evidence = intake.add_evidence(
                ctx,
                report,
                sent.stream if sent is not None else io.BytesIO(),
                (sent.filename or "") if sent is not None else "",
                description,
                declared_type=sent.mimetype if sent is not None else None,
            )
    except (ValidationError, StorageFull) as exc:
        status = 413 if isinstance(exc, EvidenceTooLarge) else 422
        if isinstance(exc, StorageFull):
            status = INSUFFICIENT_STORAGE
        form = {"report": reference, "error": str(exc), "description": description}
        return _upload_form_page(report, form, status)
    flash(
        f"Evidence added to {reference}: {evidence.media_type}, "
        f"{human_size(evidence.size_bytes)}, SHA-256 {evidence.sha256}.",
        "info",
    )
    if report.incident is None:
        target = url_for("reports.show_report", reference=reference)
    else:
        target = url_for("incidents.show_incident", reference=report.incident.reference)
    return redirect(f"{target}#evidence-{reference}")


@blueprint.get("/evidence/<uuid:evidence_id>/download", endpoint="download")
def download_file(evidence_id: uuid.UUID) -> Response:
    return file_response(*download.open_evidence(context(), evidence_id))


@blueprint.errorhandler(413)
def too_large(_error: Exception) -> tuple[str, int]:
    if not may_upload():
        return render_error(413)
    limit = human_size(settings().evidence_max_bytes)
    return render_error(
        413,
        title="File too large",
        detail=f"Evidence files may be up to {limit}. Nothing was saved. "
        "Go back to choose a smaller file, or ask an administrator about larger ones.",
    )


@blueprint.errorhandler(download.EvidenceErased)
def erased(_error: Exception) -> tuple[str, int]:
    return render_error(
        410,
        title="Erased",
        detail="This evidence file was erased with its report. It can never be opened again.",
    )


@blueprint.errorhandler(StoredFileMissing)
@blueprint.errorhandler(DecryptionError)
def unreadable(error: Exception) -> tuple[str, int]:
    log.error("evidence download refused: %s", error)  # ids and references, no secret
    return render_error(
        500,
        title="File unavailable",
        detail="The stored file is missing or damaged, so nothing was released. "
        "The administrator can restore it from a backup.",
    )
