"""Logging an unexpected exception without what it may quote.

An exception's message and the values in its traceback may hold what was typed or
decrypted (an SQL statement with its parameters, a value formatted into a message), so
neither is logged, nor shown: the log gets the exception's type, the route, the frames
it was raised through (file, line, function) and a short crash id, which the error page
and the API's problem show so that an administrator can find the line.
"""

from __future__ import annotations

import logging
import secrets
import traceback

from flask import has_request_context, request

log = logging.getLogger("incidents.crashes")


def crash_id() -> str:
    return secrets.token_hex(4)


def log_crash(original: BaseException) -> str:
    """Log `original` as type, route and frames; the crash id the log line names."""
    identifier = crash_id()
    frames = traceback.extract_tb(original.__traceback__)
    where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames))
    route = "(no request)"
    if has_request_context():
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        route = f"{request.method} {rule}"
    log.error(
        "crash %s: unhandled %s in %s at %s", identifier, type(original).__name__, route, where
    )
    return identifier
