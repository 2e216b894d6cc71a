"""An action's responses, follow-ups and links to reports, and the links whose consent
was withdrawn. (Being written: the signatures below are the contract.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from incidents.context import Context
from incidents.models.advocacy import AdvocacyAction


@dataclass(frozen=True)
class ActionWork:
    responses: tuple[Any, ...] = ()
    follow_ups: tuple[Any, ...] = ()
    links: tuple[Any, ...] = ()
    flagged: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def work_of(ctx: Context, action: AdvocacyAction) -> ActionWork:
    return ActionWork()


def flagged_links(ctx: Context) -> list[Any]:
    return []
