"""Appending audit events in the caller's transaction; events name fields, never values."""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from incidents.models.audit import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, or an operator at the command line."""

    label: str
    user_id: uuid.UUID | None = None

    @classmethod
    def command_line(cls) -> Actor:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(label=f"cli:{name}")


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    target: Any = None,
    fields: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the session; it commits, or rolls back, with the change it records."""
    event = AuditEvent(
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        target_table=getattr(target, "__tablename__", None),
        target_id=str(target.id) if target is not None and target.id is not None else None,
        target_ref=getattr(target, "reference", None),
        team_id=getattr(target, "team_id", None),
        fields=sorted(fields or []),
        detail=detail or {},
    )
    session.add(event)
    return event
