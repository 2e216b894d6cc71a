"""One error page design; domain errors translated to HTTP answers in one place."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from incidents.errors import (
    DecryptionError,
    EditConflict,
    MasterKeyError,
    NotFound,
    PermissionDenied,
    StorageFull,
)
from incidents.extensions import login_manager
from incidents.outages import database_unreachable, disk_full
from incidents.services.evidence.policy import human_size
from incidents.sqlite_locking import BUSY_RETRY_AFTER_SECONDS, database_busy
from incidents.web.crashes import log_crash
from incidents.web.outage import database_unreachable_page, disk_full_page

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
    507: ("Disk full", "The server has no room for what you sent. Nothing was saved."),
}


def render_error(
    status: int, detail: str | None = None, title: str | None = None
) -> tuple[str, int]:
    default_title, message = MESSAGES.get(status, ("Error", "The request could not be completed."))
    return render_template(
        "errors/error.html", status=status, title=title or default_title, message=detail or message
    ), status


def too_large_message(app: Flask) -> str:
    """What a form may hold, in the limits Flask applies before any view runs."""
    body = human_size(int(app.config["MAX_CONTENT_LENGTH"] or 0))
    field = human_size(int(app.config["MAX_FORM_MEMORY_SIZE"] or 0))
    return (
        f"What you sent is larger than this installation accepts: up to {body} in one form, "
        f"and up to {field} in one text field. Nothing was saved. Go back and send less at "
        "once: a larger file of records is imported at the command line (incidents import), "
        "an evidence file on its report's page, which takes larger ones."
    )


BUSY_MESSAGE = (
    "Too many people are saving at this moment for this installation's database (SQLite "
    "saves one thing at a time). Nothing was changed. Wait a few seconds, then try again."
)


def database_busy_page() -> ResponseReturnValue:
    """503 for a request that waited its turn to write to SQLite for longer than the
    database allows (incidents/sqlite_locking.py): a moment of crowding, not a bug."""
    log.warning("database busy: a request gave up waiting for SQLite's write lock")
    # The request was rolled back, expiring the user it had loaded: the page shows no
    # account menu rather than wait on the database once more for it.
    g._login_user = login_manager.anonymous_user()
    body, status = render_error(503, BUSY_MESSAGE, "Busy: please try again")
    return body, status, {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        if error.code == 413:
            return render_error(413, too_large_message(app))
        return render_error(error.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        if request.endpoint == "auth.quick_exit":
            # Someone leaving in a hurry from a page whose session had ended meanwhile:
            # the neutral page all the same (nothing was done, so nothing to protect).
            return render_template("auth/neutral.html"), 400
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

    @app.errorhandler(StorageFull)
    def storage_full(error: StorageFull) -> tuple[str, int]:
        # A page that stores files answers this beside its form; this is for any other.
        return render_error(507, str(error))

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
    def server_error(error: InternalServerError) -> ResponseReturnValue:
        # The log gets the exception type and where it was raised, never its message:
        # messages (SQL parameters, input echoes) may quote what a user typed.
        original = error.original_exception
        if original is not None and database_busy(original):
            return database_busy_page()
        if original is not None and database_unreachable(original):
            # Wherever it was lost (the login check, the view, the commit), the database
            # being away is an outage to wait out, not a bug: 503, with what was typed.
            log.error("database unreachable: %s", type(original).__name__)
            return database_unreachable_page()
        if original is not None and disk_full(original):
            log.error("no disk space to write: %s", type(original).__name__)
            return disk_full_page()
        if original is not None:
            crash = log_crash(original)
            return render_error(
                500,
                f"The error has been logged as crash {crash}: tell your administrator that "
                "number. Nothing you entered was shown.",
            )
        return render_error(500)
