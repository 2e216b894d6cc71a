"""Evidence pages: upload a file to a report, download it decrypted (researchers of the team).

Uploads are spooled encrypted under a throw-away key while the form is received (see
incidents.storage.spool), and only the upload endpoint accepts a body as large as the
evidence limit — and only from a user who may add evidence.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from typing import IO, Any, cast
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    Request,
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.http import dump_options_header
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from incidents.errors import DecryptionError, NotFound, ValidationError
from incidents.extensions import db, evidence_store
from incidents.models.report import Report
from incidents.permissions import Permission, can
from incidents.services import evidence as evidence_service
from incidents.services import incidents as incident_service
from incidents.settings import Settings
from incidents.storage.spool import EncryptedSpool
from incidents.storage.store import StoredFileMissing
from incidents.web.current import actor, current_account, settings, vault
from incidents.web.errors import render_error
from incidents.web.incidents import render_incident

log = logging.getLogger(__name__)

blueprint = Blueprint("evidence", __name__)

REPORT_REFERENCE = re.compile(r"^RPT-\d{4}-\d{4,}$")
UPLOAD_ENDPOINT = "evidence.upload"
# Room, beyond the file itself, for the multipart framing and the form's other fields.
FORM_ALLOWANCE = 64 * 1024
# RFC 5987 attr-char, the characters a filename* value may carry unescaped.
_ATTR_CHARS = "!#$&+-.^_`|~"


def upload_limit(settings: Settings) -> int:
    """The largest request body the upload endpoint accepts."""
    return settings.evidence_max_bytes + FORM_ALLOWANCE


class IncidentsRequest(Request):
    """The application's request: uploads spool encrypted; evidence uploads may be larger."""

    @property
    def max_content_length(self) -> int | None:
        if self.endpoint == UPLOAD_ENDPOINT and _may_upload():
            return upload_limit(settings())
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return cast(IO[bytes], EncryptedSpool())


def _may_upload() -> bool:
    # Read while the body is parsed (the CSRF check does it first): only a user who may
    # add evidence can make the server receive a body that large.
    return bool(current_user.is_authenticated) and can(current_account(), Permission.CASE_WRITE)


def attachment_disposition(filename: str) -> str:
    """A Content-Disposition for `filename`: an ASCII fallback and the exact name (RFC 6266)."""
    fallback = secure_filename(filename) or "evidence"
    return dump_options_header(
        "attachment",
        {"filename": fallback, "filename*": f"UTF-8''{quote(filename, safe=_ATTR_CHARS)}"},
    )


def init_app(app: Flask) -> None:
    app.request_class = IncidentsRequest
    app.add_template_filter(evidence_service.human_size, "filesize")


def _incident_page(report: Report, form: dict[str, Any], status: int) -> Any:
    """The incident page again, with the upload form's error and what was typed kept."""
    if report.incident is None:
        flash(form["error"], "error")
        return redirect(url_for("incidents.list_incidents"))
    view = incident_service.view_incident(
        db.session, vault(), current_account(), actor(), report.incident.reference
    )
    db.session.commit()  # the page's decryption events
    return render_incident(view, evidence_form=form), status


@blueprint.post("/reports/<reference>/evidence")
def upload(reference: str) -> Any:
    if not REPORT_REFERENCE.match(reference):
        raise NotFound(reference)
    configured = settings()
    report = evidence_service.find_report(db.session, current_account(), reference)
    sent = request.files.get("file")
    description = request.form.get("description", "")
    try:
        evidence = evidence_service.add_evidence(
            db.session,
            vault(),
            evidence_store(),
            actor(),
            current_account(),
            report,
            sent.stream if sent is not None else io.BytesIO(),
            (sent.filename or "") if sent is not None else "",
            description,
            max_bytes=configured.evidence_max_bytes,
            chunk_bytes=configured.evidence_chunk_bytes,
        )
    except ValidationError as exc:
        db.session.rollback()
        status = 413 if isinstance(exc, evidence_service.EvidenceTooLarge) else 422
        form = {"report": reference, "error": str(exc), "description": description}
        return _incident_page(report, form, status)
    db.session.commit()
    flash(
        f"Evidence added to {reference}: {evidence.media_type}, "
        f"{evidence_service.human_size(evidence.size_bytes)}, SHA-256 {evidence.sha256}.",
        "info",
    )
    if report.incident is None:
        return redirect(url_for("incidents.list_incidents"))
    target = url_for("incidents.show_incident", reference=report.incident.reference)
    return redirect(f"{target}#evidence-{reference}")


@blueprint.get("/evidence/<uuid:evidence_id>/download")
def download(evidence_id: uuid.UUID) -> Response:
    details, content = evidence_service.open_evidence(
        db.session, vault(), evidence_store(), actor(), current_account(), evidence_id
    )
    db.session.commit()  # the custody and decryption events, before any byte leaves
    response = Response(content, mimetype=details.media_type, direct_passthrough=True)
    # A known length lets the browser tell an interrupted download (an integrity failure
    # stops the stream) from a complete one.
    response.content_length = details.size_bytes
    response.headers["Content-Disposition"] = attachment_disposition(details.filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.errorhandler(413)
def too_large(_error: Exception) -> tuple[str, int]:
    if not _may_upload():
        return render_error(413)
    limit = evidence_service.human_size(settings().evidence_max_bytes)
    return render_error(
        413,
        title="File too large",
        detail=f"Evidence files may be up to {limit}. Nothing was saved. "
        "Go back to choose a smaller file, or ask an administrator about larger ones.",
    )


@blueprint.errorhandler(evidence_service.EvidenceErased)
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
