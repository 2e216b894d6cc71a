"""Read models: frozen dataclasses of what one reader may see of a record.

Services build them from `visible_values` (incidents/redaction.py), so a field of a class
the reader may not read is None — it was never read, and a secret one never decrypted.
Templates and the API get these, never the ORM rows behind them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def read_model(cls: type[T], values: Mapping[str, Any], **extra: Any) -> T:
    """A `cls` from visible `values` and computed `extra` fields; a field in neither is
    None (the reader may not see it)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = set(extra) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
    return cls(**{name: extra[name] if name in extra else values.get(name) for name in names})
