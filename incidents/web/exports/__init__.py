"""The export page: records or redacted summaries, as JSON or CSV, streamed as a download."""

from incidents.web.exports.views import blueprint

__all__ = ["blueprint"]
