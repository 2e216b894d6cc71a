"""The Flask application class: one unit of work per request.

Whatever a request does — a page that decrypts and records it, a form that changes a
record, a failed login that is counted — is committed once, after the response is made
and before a byte of it is sent; a request that fails is rolled back as a whole. So no
view commits, and a page can never show plaintext whose audit event was lost.
"""

from __future__ import annotations

from flask import Flask, Response
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from incidents.web import boundary
from incidents.web.evidence.uploads import IncidentsRequest


class Application(Flask):
    request_class = IncidentsRequest

    def full_dispatch_request(self) -> Response:
        try:
            response = super().full_dispatch_request()
            boundary.finish()
        except BaseException:
            boundary.discard()
            raise
        return response

    def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        # What the request did is undone before the error page is made (which writes
        # nothing), whatever the error: a record of another team, a CSRF failure, a 429.
        boundary.discard()
        return super().handle_user_exception(e)
