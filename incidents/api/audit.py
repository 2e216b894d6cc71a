"""The audit log, read through the API: the same events, filters and visibility as the
auditor's log page (incidents/services/auditor.py) — the reader's teams' part of the log
(services/audit_scope.py), or all of it for an installation auditor, newest first, never
a secret value — for whoever holds audit:read.

The cursor of a page is the position of its last event: the next page holds the events
before it, so a page stays the same however many events are appended meanwhile.
Inclusion proofs need the whole log verified and are made at the command line
(`incidents audit prove`), as they are not offered on the pages either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from incidents.api.operations import operation
from incidents.api.schemas import Page, Request
from incidents.audit.filters import EventFilter
from incidents.context import Context
from incidents.services import auditor

TAG = "Audit log"
SCOPE = "audit:read"
MAX_LIMIT = 200
# Control characters have no place in a filter (and PostgreSQL refuses NUL in text).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


class AuditEvent(BaseModel):
    """One event of the audit log: who did what to which record, never a value."""

    id: int = Field(description="The event's position in the log, from 1, without gaps.")
    occurred_at: datetime
    actor: str = Field(description="An e-mail, `token:<id>` or `cli:<name>`.")
    action: str = Field(examples=["record.create", "secret.decrypt"])
    target_table: str | None = None
    target_id: str | None = None
    target_ref: str | None = Field(None, examples=["INC-2017-0001"])
    fields: list[str] = Field(description="The fields concerned: names, never values.")
    detail: dict[str, Any]


class EventQuery(Request):
    """The log page's filters, and the page wanted."""

    actor: Annotated[str, Field(max_length=254, pattern=NO_CONTROL)] | None = Field(
        None, description="The actor contains this (case-insensitive)."
    )
    action: Annotated[str, Field(max_length=64, pattern=NO_CONTROL)] | None = Field(
        None, description="The action starts with this, e.g. `secret.` or `record.create`."
    )
    record: Annotated[str, Field(max_length=64, pattern=NO_CONTROL)] | None = Field(
        None, description="Events about this record: its reference or id."
    )
    since: date | None = Field(None, description="From this day on (UTC).")
    until: date | None = Field(None, description="Up to this day, included (UTC).")
    cursor: Annotated[str, Field(max_length=19)] | None = Field(
        None, description="The `next` of the previous page."
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50

    @field_validator("cursor")
    @classmethod
    def _a_position(cls, value: str | None) -> str | None:
        if value is not None and not (
            value.isascii() and value.isdigit() and 1 <= int(value) <= auditor.LARGEST_POSITION
        ):
            raise ValueError("Use the `next` of a page as it was given, or leave it out.")
        return value

    @field_validator("until")
    @classmethod
    def _before_the_last_day(cls, value: date | None) -> date | None:
        if value is not None and value >= date.max:  # the day after it overflows
            raise ValueError(f"Enter a date before {date.max.isoformat()}.")
        return value

    def filters(self) -> EventFilter:
        return EventFilter(
            actor=(self.actor or "").strip() or None,
            action=(self.action or "").strip() or None,
            record=(self.record or "").strip() or None,
            since=self.since,
            until=self.until,
        )

    def before(self) -> int | None:
        """The position the page ends before (none: the newest events)."""
        return None if self.cursor is None else int(self.cursor)


def _event(row: auditor.EventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        target_table=row.target_table,
        target_id=row.target_id,
        target_ref=row.target_ref,
        fields=list(row.fields),
        detail=row.detail,
    )


@operation(
    "GET",
    "/audit/events",
    name="list_audit_events",
    summary="The audit log, newest first",
    scope=SCOPE,
    tag=TAG,
    query=EventQuery,
    response=Page[AuditEvent],
)
def list_audit_events(ctx: Context, query: EventQuery) -> Page[AuditEvent]:
    """Events about the records of your teams, the accounts of their members and the
    installation (the whole log for an installation auditor), filtered as on the audit
    log page; `next` is the cursor of the older events."""
    page = auditor.event_page(ctx, query.filters(), query.before(), query.limit)
    next_cursor = None if page.next_before is None else str(page.next_before)
    return Page[AuditEvent](items=[_event(row) for row in page.events], next=next_cursor)


@operation(
    "GET",
    "/audit/events/<int:position>",
    name="get_audit_event",
    summary="One audit event",
    scope=SCOPE,
    tag=TAG,
    response=AuditEvent,
)
def get_audit_event(ctx: Context, position: int) -> AuditEvent:
    """The event at this position; one you do not see on the log page (another team's
    record or account) is not found."""
    return _event(auditor.event_at(ctx, position))
