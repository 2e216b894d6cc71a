"""What the parts of an advocacy action (its responses, follow-ups and links to reports)
share as kinds of record — each hangs off an action, in the action's team, and is
written with advocacy:write — and the input fields of follow-ups that no case record
has: the colleague a follow-up is assigned to (a user, by id) and when it was done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidents.permissions import Permission
from incidents.records.fields import InputField, Link, Problem
from incidents.records.kind import RecordKind


def on_action(
    name: str, model: type[Any], label: str, *fields: InputField, **more: Any
) -> RecordKind:
    """A kind of record that is part of an action: its `fields` after the action's link."""
    return RecordKind(
        name,
        model,
        label,
        fields=(Link("action", "action", required=True, kind="advocacy_action"), *fields),
        write_permission=Permission.ADVOCACY_WRITE,
        team_from="action",
        **more,
    )


@dataclass(frozen=True)
class Colleague(InputField):
    """A user, by id: writes `<name>_id`. Whether that user may take the work is the
    service's to judge (incidents/services/follow_ups.py: a colleague of the team with
    advocacy:write); here only the shape is checked."""

    def convert(self, text: str) -> uuid.UUID:
        try:
            return uuid.UUID(text)
        except ValueError:
            raise Problem(f"Choose the {self.label} from the list.") from None

    def parse(self, raw: object) -> Any:
        if isinstance(raw, uuid.UUID):
            return raw
        return super().parse(raw)

    def columns(self) -> tuple[str, ...]:
        return (f"{self.name}_id",)

    def split(self, value: Any) -> dict[str, Any]:
        return {f"{self.name}_id": value}


@dataclass(frozen=True)
class Moment(InputField):
    """A point in time, in UTC: a datetime, or ISO text with its offset (2017-06-02T09:00Z)."""

    def parse(self, raw: object) -> Any:
        if isinstance(raw, datetime):
            if raw.tzinfo is None:
                raise Problem("Give the time with its time zone.")
            return raw.astimezone(UTC)
        return super().parse(raw)

    def convert(self, text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Problem("Use a time like 2017-06-02T09:00:00+00:00.") from None
        if moment.tzinfo is None:
            raise Problem("Give the time with its time zone.")
        return moment.astimezone(UTC)
