"""Problem details (RFC 9457) for every error under /api/v1.

Whatever goes wrong in an API request — an unknown URL, a method the URL does not take,
a body too large, a token refused, a record of another team, input the one validator
refuses, an edit from an old version, a crash — is answered as
`application/problem+json` in one shape, the `Problem` model, which the OpenAPI document
names for every error response. A 500 says nothing of what failed; the log gets the
exception's type and where it was raised, never its message (which may quote input).

Views raise the project's own errors (incidents/errors.py) or `ApiProblem`; nothing here
is a second set of permission checks, only their translation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, Response, request
from limits.errors import StorageError
from pydantic import BaseModel, Field
from werkzeug.exceptions import HTTPException, InternalServerError

from incidents.api.auth import TokenRefused
from incidents.api.blueprint import PREFIX, api
from incidents.errors import (
    DecryptionError,
    EditConflict,
    Erased,
    MasterKeyError,
    NotFound,
    PermissionDenied,
    StorageFull,
    ValidationError,
)
from incidents.outages import RETRY_AFTER_SECONDS, database_unreachable, disk_full
from incidents.sqlite_locking import BUSY_RETRY_AFTER_SECONDS, database_busy
from incidents.web.crashes import log_crash
from incidents.web.throttling import STORE_RETRY_AFTER_SECONDS, store_unreachable

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = f"{PREFIX}/problems/"

# Problem types of this API beyond plain HTTP statuses ("about:blank"): each is listed,
# with what it means, on the reference page (/api/v1/docs#problems).
PROBLEM_TYPES: dict[str, str] = {
    "token-refused": "The request has no valid bearer token.",
    "invalid-input": "The body or the query string does not fit the schema, or the record "
    "validator refused a value; `errors` names each field.",
    "edit-conflict": "The record changed since the version named in If-Match; "
    "`current_version` is the stored one. Nothing was saved.",
    "if-match-required": "A change needs If-Match with the ETag of the version edited.",
    "erased": "The record was erased; only the fact that it existed is kept.",
    "possible-duplicates": "People already recorded in the team may be the one sent; "
    "nothing was created. Look at them, then send confirmed_different: true.",
    "consent-missing": "The report may not serve what the advocacy action does with it: "
    "its source or people of its incident have not consented to a use the action needs. "
    "Nothing was linked; the refusal is in the audit log.",
}

# Title and what to do, per status, for the answers that have no more to say.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "The request could not be understood. Nothing was changed."),
    401: ("Unauthorized", "Send a valid API token as 'Authorization: Bearer <token>'."),
    403: (
        "Forbidden",
        "Your roles, or this token's scopes, do not allow this. Make a token with the "
        "scope this operation needs, or ask an administrator for the role.",
    ),
    404: ("Not Found", "There is nothing here, or it is not something you can see."),
    405: ("Method Not Allowed", "This URL does not accept that method; see /api/v1/docs."),
    406: ("Not Acceptable", "This API answers in JSON only."),
    409: ("Conflict", "The record changed meanwhile. Nothing was saved."),
    410: ("Gone", "The record was erased. It can never be read again."),
    413: ("Content Too Large", "Send a smaller body; this installation refuses one this large."),
    415: ("Unsupported Media Type", "Send the body as JSON with 'Content-Type: application/json'."),
    422: ("Unprocessable Content", "Correct the fields named in `errors` and send it again."),
    428: ("Precondition Required", "Send If-Match with the ETag you read."),
    429: ("Too Many Requests", "Wait a little, then try again."),
    500: ("Internal Server Error", "The error has been logged. Nothing was changed."),
    503: ("Service Unavailable", "Wait a little, then send the request again."),
    507: ("Insufficient Storage", "The server has no room for the file. Nothing was saved."),
}


class FieldProblem(BaseModel):
    """What is wrong with one field, and what to do instead."""

    field: str = Field(description="The field, as a dotted path into the body or the query.")
    message: str = Field(description="A full sentence saying what to do.")


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details)."""

    type: str = Field(
        "about:blank", description="'about:blank' or a /api/v1/problems/<slug> identifier."
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(description="What happened and what to do about it.")
    errors: list[FieldProblem] = Field(
        default_factory=list, description="One entry per field that was refused."
    )
    current_version: int | None = Field(
        None, description="For an edit conflict: the lock version stored now, if known."
    )


class ApiProblem(Exception):
    """Raised by an API view to answer with a problem.

    `slug` names one of PROBLEM_TYPES; `errors` maps field names to what to do."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        slug: str | None = None,
        errors: Mapping[str, str] | Iterable[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        default_title, default_detail = STATUS_TEXT.get(status, ("Error", "The request failed."))
        super().__init__(detail or default_detail)
        self.status = status
        self.title = title or default_title
        self.detail = detail or default_detail
        self.slug = slug
        self.errors = (
            [FieldProblem(field=k, message=v) for k, v in errors.items()]
            if isinstance(errors, Mapping)
            else list(errors)
        )
        self.headers = dict(headers or {})


def problem_response(problem: ApiProblem, current_version: int | None = None) -> Response:
    body = Problem(
        type=f"{TYPE_PREFIX}{problem.slug}" if problem.slug else "about:blank",
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        errors=problem.errors,
        current_version=current_version,
    )
    response = Response(
        body.model_dump_json(exclude_none=True), status=problem.status, mimetype=MEDIA_TYPE
    )
    response.headers.update(problem.headers)
    return response


def under_api() -> bool:
    """Whether this request is the API's (also for URLs under /api/v1 that match nothing,
    which no blueprint handler sees)."""
    return request.path == PREFIX or request.path.startswith(f"{PREFIX}/")


# -- translations -------------------------------------------------------------------------


def _from_api_problem(error: ApiProblem) -> Response:
    return problem_response(error)


def _from_token_refused(error: TokenRefused) -> Response:
    # RFC 6750: a token was sent but is no good → error="invalid_token"; none → no error.
    sent = request.headers.get("Authorization", "").strip() != ""
    challenge = 'Bearer realm="incidents"' + (', error="invalid_token"' if sent else "")
    detail = (
        f"{error} Send a valid token as 'Authorization: Bearer <token>'; make one on "
        "your account page."
    )
    return problem_response(
        ApiProblem(401, detail, slug="token-refused", headers={"WWW-Authenticate": challenge})
    )


def _from_erased(error: Erased) -> Response:
    detail = f"{error.reference} was erased. Its secret fields can never be read again."
    return problem_response(ApiProblem(410, detail, slug="erased"))


def _from_not_found(_error: NotFound) -> Response:
    return problem_response(ApiProblem(404))


def _from_permission_denied(_error: PermissionDenied) -> Response:
    return problem_response(ApiProblem(403))


def _from_validation(error: ValidationError) -> Response:
    detail = str(error) if not error.errors else STATUS_TEXT[422][1]
    return problem_response(ApiProblem(422, detail, slug="invalid-input", errors=error.errors))


def _from_edit_conflict(error: EditConflict) -> Response:
    detail = f"{error}. Read the record again, apply your change to it and send its ETag."
    headers = {} if error.current_version is None else {"ETag": f'"{error.current_version}"'}
    problem = ApiProblem(409, detail, slug="edit-conflict", headers=headers)
    return problem_response(problem, current_version=error.current_version)


def _from_undecryptable(error: DecryptionError | MasterKeyError) -> Response:
    # The message names the record and field, never a value; operators need it.
    log.error("cannot decrypt: %s", error)
    return problem_response(
        ApiProblem(
            500,
            "A record cannot be decrypted; nothing from it was sent. An administrator "
            "should check the master keys (incidents keys status).",
        )
    )


def _from_http(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return _from_server_error(error)
    response = problem_response(ApiProblem(status))
    allowed = error.get_headers()
    for name, value in allowed:
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response


def _from_server_error(error: HTTPException) -> Response:
    original = getattr(error, "original_exception", None)
    if original is not None and database_busy(original):
        return _database_busy()
    if original is not None and database_unreachable(original):
        return _database_unreachable(original)
    if original is not None and disk_full(original):
        log.error("no disk space to write: %s", type(original).__name__)
        return problem_response(ApiProblem(507, STORAGE_FULL))
    if original is not None:
        crash = log_crash(original)
        detail = f"The error has been logged as crash {crash}. Nothing was changed."
        return problem_response(ApiProblem(500, detail))
    return problem_response(ApiProblem(500))


def _from_storage_full(error: StorageFull) -> Response:
    return problem_response(ApiProblem(507, str(error)))


STORAGE_FULL = str(StorageFull("what was sent"))


def _database_unreachable(original: BaseException) -> Response:
    # An outage, not a bug: the client is told to wait and send again; nothing was saved.
    log.error("database unreachable: %s", type(original).__name__)
    detail = (
        "The database is not answering. Nothing saved before is lost; this request was "
        "not carried out. Send it again after Retry-After seconds."
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return problem_response(ApiProblem(503, detail, headers=headers))


def _database_busy() -> Response:
    # SQLite writes one thing at a time; this request waited longer than it allows.
    log.warning("database busy: a request gave up waiting for SQLite's write lock")
    detail = (
        "The database is busy saving for others (SQLite writes one thing at a time). "
        "This request was not carried out. Send it again after Retry-After seconds."
    )
    headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
    return problem_response(ApiProblem(503, detail, headers=headers))


def _from_limiter_store_unreachable(error: StorageError) -> Response:
    # The call cannot be counted against its token's limit: refused, as sign-in is, rather
    # than let each worker count alone (incidents/web/throttling.py).
    store_unreachable(error)
    detail = (
        "The API is unavailable: the rate-limit store cannot be reached. Nothing was "
        "changed; send the request again after Retry-After seconds."
    )
    headers = {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}
    return problem_response(ApiProblem(503, detail, headers=headers))


_HANDLERS: tuple[tuple[type[Exception], Callable[[Any], Response]], ...] = (
    (ApiProblem, _from_api_problem),
    (StorageError, _from_limiter_store_unreachable),
    (TokenRefused, _from_token_refused),
    (Erased, _from_erased),
    (NotFound, _from_not_found),
    (PermissionDenied, _from_permission_denied),
    (ValidationError, _from_validation),
    (EditConflict, _from_edit_conflict),
    (DecryptionError, _from_undecryptable),
    (MasterKeyError, _from_undecryptable),
    (StorageFull, _from_storage_full),
    (InternalServerError, _from_server_error),
    (HTTPException, _from_http),
)


# A blueprint takes handlers only before it is first registered: here, at import.
for _error_class, _handler in _HANDLERS:
    api.register_error_handler(_error_class, _handler)


def install(app: Flask) -> None:
    """Answer every error of the API with a problem.

    Errors in an API view reach the blueprint's handlers (above). A URL under /api/v1 that
    matches no route (404, 405) belongs to no blueprint, so the application's own
    handler for HTTP errors — the web's error page — is wrapped: under /api/v1 it answers
    with a problem, elsewhere as before. Call after the web's handlers are registered.
    """
    pages = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    def http_error(error: HTTPException) -> Any:
        if under_api():
            return _from_http(error)
        return error if pages is None else pages(error)

    app.register_error_handler(HTTPException, http_error)
