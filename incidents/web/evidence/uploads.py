"""The application's request class: uploads are spooled encrypted under a throw-away key
while the form is received (incidents.storage.spool), and only the evidence upload
endpoints (the page's and the API's) accept a body as large as the evidence limit — and
only from a user who may add evidence."""

from __future__ import annotations

from typing import IO, cast

from flask import Request, current_app
from flask_login import current_user

from incidents.permissions import Permission, can
from incidents.settings import Settings
from incidents.storage.spool import EncryptedSpool
from incidents.web import boundary

UPLOAD_ENDPOINT = "evidence.upload"
# The API's upload (incidents/api/evidence.py): its body is read only in the view, after
# the bearer token was checked, so the token's user is known by then.
API_UPLOAD_ENDPOINT = "api.upload_evidence"
# Room, beyond the file itself, for the multipart framing and the form's other fields.
FORM_ALLOWANCE = 64 * 1024


def upload_limit(settings: Settings) -> int:
    """The largest request body the upload endpoint accepts."""
    return settings.evidence_max_bytes + FORM_ALLOWANCE


def may_upload() -> bool:
    # Read while the body is parsed (the CSRF check does it first): only a user who may
    # add evidence can make the server receive a body that large.
    return bool(current_user.is_authenticated) and can(
        current_user._get_current_object(), Permission.CASE_WRITE
    )


def may_upload_through_api() -> bool:
    """The same for an API call: its token's user (nobody before the token is checked),
    within the token's scopes."""
    return can(boundary.api_context().principal, Permission.CASE_WRITE)


class IncidentsRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if (self.endpoint == UPLOAD_ENDPOINT and may_upload()) or (
            self.endpoint == API_UPLOAD_ENDPOINT and may_upload_through_api()
        ):
            return upload_limit(current_app.config["INCIDENTS_SETTINGS"])
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
