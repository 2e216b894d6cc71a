"""What an auditor may ask of the log: every part optional."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None  # the e-mail (or cli:name) contains this
    action: str | None = None  # the action starts with this
    record: str | None = None  # a reference or an id
    since: date | None = None
    until: date | None = None
