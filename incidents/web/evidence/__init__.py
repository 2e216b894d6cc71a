"""Evidence pages: upload to a report, download decrypted."""

from incidents.web.evidence.views import blueprint

__all__ = ["blueprint"]
