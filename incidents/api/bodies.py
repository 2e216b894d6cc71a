"""Request bodies made of some of a kind's input fields, for the operations that take
less than a whole record (a consent is granted with its use and day; its owner names
its team), so that each field keeps the type, limits and description the registry
gives it (incidents/api/schemas.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, create_model

from incidents.api.schemas import Request


def body_of(
    name: str, doc: str, source: type[BaseModel], fields: Iterable[str], **more: Any
) -> type[Request]:
    """A request model `name` with the `fields` of the model `source`, and `more` (each
    a pydantic field definition: `(type, default or Field(...))`)."""
    chosen = {
        field: (source.model_fields[field].annotation, source.model_fields[field])
        for field in fields
    }
    return create_model(  # type: ignore[no-any-return, call-overload]
        name, __base__=Request, __doc__=doc, **chosen, **more
    )
