"""An evidence file as an HTTP answer: the one way the page and the API hand one out.

Never HTML or SVG, whatever a row says: only the accepted types are sent as themselves,
and always as an attachment, so no browser shows a file in the site's origin (and the
security headers give an attachment a sandbox of its own, incidents/web/security.py).
"""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.http import dump_options_header
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from incidents.services.evidence.download import EvidenceContent, EvidenceFile
from incidents.services.evidence.policy import served_media_type

# RFC 5987 attr-char, the characters a filename* value may carry unescaped.
_ATTR_CHARS = "!#$&+-.^_`|~"


def attachment_disposition(filename: str) -> str:
    """A Content-Disposition for `filename`: an ASCII fallback and the exact name (RFC 6266)."""
    fallback = secure_filename(filename) or "evidence"
    return dump_options_header(
        "attachment",
        {"filename": fallback, "filename*": f"UTF-8''{quote(filename, safe=_ATTR_CHARS)}"},
    )


def file_response(details: EvidenceFile, content: EvidenceContent) -> Response:
    """The decrypted file, streamed as it is checked against its hash.

    The custody and decryption events are committed with the request, before the
    response's first byte is sent (incidents/web/application.py)."""
    response = Response(
        content, mimetype=served_media_type(details.media_type), direct_passthrough=True
    )
    # A known length lets the client tell an interrupted download (an integrity failure
    # stops the stream) from a complete one.
    response.content_length = details.size_bytes
    response.headers["Content-Disposition"] = attachment_disposition(details.filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
