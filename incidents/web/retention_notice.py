"""The retention notice of a record's page: `retention_notice(reference)` in templates."""

from __future__ import annotations

from incidents.services import retention
from incidents.services.retention import RetentionNotice
from incidents.web.boundary import context


def retention_notice(reference: str) -> RetentionNotice | None:
    """When the rules will shred the record (or its fields), for those who may edit it."""
    return retention.notice(context(), reference)
