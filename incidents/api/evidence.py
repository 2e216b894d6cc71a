"""Evidence files through the API: their metadata as documents, an upload to a report
and the decrypted file — through the services the pages use, with the same checks.

An upload goes through the same intake as the page (incidents/services/evidence/
intake.py): the type is read from the content and held against the file's name and
declared type, the size against the installation's limit, and the file is encrypted as
it is received; a body larger than the limit is refused before it is read, and only
for a token that may add evidence is the limit that of evidence. A download is the
page's (incidents/web/evidence/downloads.py): an attachment, never shown as a page,
checked against the hash recorded at intake, one custody and one decryption event.

Metadata (hash, size, type, dates) is for those who read restricted fields
(researchers, auditors); the file name and description are secret, opened — and that
recorded — for researchers of the team reading one file; the file itself is theirs too.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Annotated, Any

from flask import request
from pydantic import AwareDatetime, Field
from pydantic import ValidationError as ShapeError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from incidents.api.answers import created, page_of, record_id
from incidents.api.operations import ApiResult, operation
from incidents.api.problems import ApiProblem
from incidents.api.records import list_query_model
from incidents.api.schemas import Page, Request, document_model
from incidents.api.validation import field_problems
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.records.kinds import EVIDENCE
from incidents.services import api_records
from incidents.services.evidence import download, intake
from incidents.services.evidence.policy import MAX_DESCRIPTION, EvidenceTooLarge, human_size
from incidents.storage.store import StoredFileMissing
from incidents.web.evidence.downloads import file_response

log = logging.getLogger(__name__)

TAG = "Evidence"
MULTIPART = "multipart/form-data"
EvidenceDocument = document_model(EVIDENCE)
EvidenceQuery = list_query_model(EVIDENCE)


class UploadFields(Request):
    """What may come with the file: a part of its own each."""

    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = Field(
        None, description="What the file shows (encrypted; researchers of the team read it)."
    )
    captured_at: AwareDatetime | None = Field(
        None, description="When it was taken or recorded, with its time zone."
    )


class EvidenceUpload(UploadFields):
    """An evidence file, sent as multipart/form-data."""

    file: bytes = Field(description="The file, with its name (the part's filename).")


@operation(
    "GET",
    "/evidence",
    name="list_evidence",
    summary="List evidence files",
    scope="cases:read",
    tag=TAG,
    query=EvidenceQuery,
    response=Page[EvidenceDocument],  # type: ignore[valid-type]
)
def list_evidence(ctx: Context, query: Any) -> dict[str, Any]:
    """The evidence files of your teams' reports (`?report=` for one report's): hash,
    size, type and dates; the file name and description are sealed in a list."""
    filters = {"report": query.report} if query.report else {}
    return page_of(ctx, EVIDENCE, filters, query)


@operation(
    "GET",
    "/evidence/<key>",
    name="get_evidence",
    summary="Read one evidence file's details",
    scope="cases:read",
    tag=TAG,
    response=EvidenceDocument,
    errors=(410,),
)
def get_evidence(ctx: Context, key: str) -> dict[str, Any]:
    """The file's details by id. Its name and description are decrypted if you may read
    them, and that is recorded in the audit log."""
    return api_records.get_document(ctx, EVIDENCE, key)


@operation(
    "POST",
    "/reports/<key>/evidence",
    name="upload_evidence",
    summary="Add an evidence file to a report",
    scope="cases:write",
    tag=TAG,
    form=EvidenceUpload,
    response=EvidenceDocument,
    status=201,
)
def upload_evidence(ctx: Context, key: str) -> ApiResult:
    """Receives the file as evidence for the report (by reference or id), checked and
    encrypted as on the report's page; answers with its SHA-256, size and type."""
    report = intake.find_report(ctx, key)  # another team's: 404 before a byte is read
    if request.mimetype != MULTIPART:
        raise ApiProblem(415, "Send the file as multipart/form-data, in a part named `file`.")
    limit = human_size(ctx.settings.evidence_max_bytes)
    try:
        sent = request.files.get("file")
        fields = {name: value for name, value in request.form.items() if name != "file"}
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if sent is None:
        raise ValidationError.on("file", "Send the file in a part named `file`, with its name.")
    try:
        extra = UploadFields.model_validate(fields)
    except ShapeError as error:
        raise ApiProblem(422, slug="invalid-input", errors=field_problems(error, "form")) from None
    try:
        evidence = intake.add_evidence(
            ctx,
            report,
            sent.stream,
            sent.filename or "",
            extra.description,
            None if extra.captured_at is None else extra.captured_at.astimezone(UTC),
            declared_type=sent.mimetype,
        )
    except EvidenceTooLarge:
        raise _too_large(limit) from None
    document = api_records.document_of(ctx, EVIDENCE, evidence, open_secrets=False)
    return created(document, "get_evidence", evidence.id)


def _too_large(limit: str) -> ApiProblem:
    message = f"The file is larger than {limit}, the most this installation accepts as evidence."
    return ApiProblem(
        413,
        f"{message} Nothing was saved: send a smaller file, or ask an administrator about "
        "larger ones.",
        errors={"file": message},
    )


@operation(
    "GET",
    "/evidence/<key>/file",
    name="download_evidence",
    summary="Download an evidence file",
    scope="cases:read",
    tag=TAG,
    binary="application/octet-stream",
    errors=(410,),
)
def download_evidence(ctx: Context, key: str) -> Response:
    """The file as it was received, as an attachment (its media type when it is one
    evidence may have). The last part is held back unless the whole file matches the
    SHA-256 recorded at intake: an interrupted download is shorter than Content-Length."""
    evidence_id = record_id(key, "evidence")
    try:
        return file_response(*download.open_evidence(ctx, evidence_id))
    except download.EvidenceErased:
        raise ApiProblem(
            410,
            "This evidence file was erased with its report. It can never be opened again.",
            slug="erased",
        ) from None
    except StoredFileMissing as error:
        log.error("evidence download refused: %s", error)  # ids and references, no secret
        raise ApiProblem(
            500,
            "The stored file is missing or damaged, so nothing was released. The "
            "administrator can restore it from a backup.",
        ) from None
