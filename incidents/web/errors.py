"""One error page design; domain errors translated to HTTP answers in one place."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from incidents.errors import (
    DecryptionError,
    EditConflict,
    MasterKeyError,
    NotFound,
    PermissionDenied,
)

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Nothing was changed."),
    403: ("Not allowed", "Your role does not allow this. Ask an administrator if you need it."),
    404: ("Not found", "There is no page here, or it is not one you can see."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    409: (
        "Changed meanwhile",
        "Someone else changed this record after you opened it. Nothing was saved.",
    ),
    413: ("Too large", "What you sent is larger than this installation accepts."),
    429: ("Too many attempts", "Please wait a little and try again."),
    500: ("Something went wrong", "The error has been logged. Nothing you entered was shown."),
}


def render_error(
    status: int, detail: str | None = None, title: str | None = None
) -> tuple[str, int]:
    default_title, message = MESSAGES.get(status, ("Error", "The request could not be completed."))
    return render_template(
        "errors/error.html", status=status, title=title or default_title, message=detail or message
    ), status


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_error(
            400, "The form had expired or was not sent from this site. Please try again."
        )

    @app.errorhandler(NotFound)
    def not_found(_error: NotFound) -> tuple[str, int]:
        return render_error(404)

    @app.errorhandler(PermissionDenied)
    def denied(_error: PermissionDenied) -> tuple[str, int]:
        return render_error(403)

    @app.errorhandler(EditConflict)
    def conflict(error: EditConflict) -> tuple[str, int]:
        # A page that edits records is to catch this and show both versions with what was
        # typed; this answer is for whatever does not.
        return render_error(409, f"{error}. Open the record again to see the changes.")

    @app.errorhandler(DecryptionError)
    @app.errorhandler(MasterKeyError)
    def undecryptable(error: DecryptionError | MasterKeyError) -> tuple[str, int]:
        # The message names the record and field, never a value; operators need it.
        log.error("cannot decrypt: %s", error)
        return render_error(
            500,
            f"This record cannot be decrypted: {error}. Nothing from it was shown. "
            "An administrator should check the master keys (incidents keys status).",
        )

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> tuple[str, int]:
        # The log gets the exception type and where it was raised, never its message:
        # messages (SQL parameters, input echoes) may quote what a user typed.
        original = error.original_exception
        if original is not None:
            frames = traceback.extract_tb(original.__traceback__)
            where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames))
            log.error("unhandled %s at %s", type(original).__name__, where)
        return render_error(500)
