"""The Flask application class: one unit of work per request.

Whatever a request does — a page that decrypts and records it, a form that changes a
record, a failed login that is counted — is committed once the view has answered, before
the answer is finished: before the cookie (and the messages it carries) is saved and
before a byte is sent. A request that fails is rolled back as a whole, and so is one
whose commit fails: then the browser keeps its cookie as it was and is told nothing
succeeded. So no view commits, and a page can never show plaintext whose audit event
was lost, nor say "done" of what was not.
"""

from __future__ import annotations

from flask import Flask, Response
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from incidents.web import boundary
from incidents.web.evidence.uploads import IncidentsRequest


class Application(Flask):
    request_class = IncidentsRequest
    session_interface = boundary.Cookies()

    def full_dispatch_request(self) -> Response:
        try:
            return super().full_dispatch_request()
        except BaseException:
            boundary.discard()
            raise

    def finalize_request(
        self, rv: ResponseReturnValue | HTTPException, from_error_handler: bool = False
    ) -> Response:
        if not from_error_handler:  # the error page of a failed request commits nothing
            try:
                boundary.finish()
            except BaseException:
                boundary.abandon()
                raise
        return super().finalize_request(rv, from_error_handler)

    def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        # What the request did is undone before the error page is made (which writes
        # nothing), whatever the error: a record of another team, a CSRF failure, a 429.
        boundary.discard()
        return super().handle_user_exception(e)
