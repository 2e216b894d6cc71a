"""The Flask application class: one unit of work per request.

Whatever a request does — a page that decrypts and records it, a form that changes a
record, a failed login that is counted — is committed once the view has answered, before
the answer is finished: before the cookie (and the messages it carries) is saved and
before a byte is sent. A request that fails is rolled back as a whole, and so is one
whose commit fails: then the browser keeps its cookie as it was and is told nothing
succeeded. So no view commits, and a page can never show plaintext whose audit event
was lost, nor say "done" of what was not.

On SQLite a GET's transactions begin DEFERRED, so pages are read while someone else
writes; a GET that SQLite then refuses a write (its audit event, its session's
bookkeeping) is run once more from the start with transactions that wait for the write
lock (incidents/sqlite_locking.py). A GET changes nothing but those records, so running
it twice does nothing twice: the first run was rolled back as a whole.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from incidents import sqlite_locking
from incidents.web import boundary
from incidents.web.evidence.uploads import IncidentsRequest

_READING_METHODS = frozenset({"GET", "HEAD"})


class Application(Flask):
    request_class = IncidentsRequest
    session_interface = boundary.Cookies()

    def full_dispatch_request(self) -> Response:
        if request.method not in _READING_METHODS or not boundary.on_sqlite():
            return self._dispatch_once()
        try:
            with sqlite_locking.transactions_begin(sqlite_locking.DEFERRED):
                return self._dispatch_once()
        except Exception as error:
            if not sqlite_locking.database_busy(error):
                raise
        boundary.start_over()
        return self._dispatch_once()  # IMMEDIATE: waits for the lock, then cannot be refused

    def _dispatch_once(self) -> Response:
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

    def log_exception(self, exc_info: Any) -> None:
        """Flask would log the exception's message and traceback, which may quote what was
        typed or decrypted; the 500 handlers log it without them (incidents/web/crashes.py)."""

    def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        # What the request did is undone before the error page is made (which writes
        # nothing), whatever the error: a record of another team, a CSRF failure, a 429.
        boundary.discard()
        return super().handle_user_exception(e)
