"""Redaction profiles and the one function that turns a record into what a reader may see.

A profile names the field classes an output may carry. Summaries, pages and exports all
serialise through `visible_values`, so a field class left out is never read — and a
secret field is never decrypted — for an output that may not show it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from incidents.db import FieldClass, field_class_of


class Profile(enum.StrEnum):
    FULL = "full"  # everything, secrets decrypted: researchers of the team
    INTERNAL = "internal"  # public and restricted: auditors, internal review
    PARTNER = "partner"  # public fields, where consent allows sharing with partners
    PUBLIC = "public"  # public fields, where consent allows publication


PROFILE_FIELD_CLASSES: dict[Profile, frozenset[FieldClass]] = {
    Profile.FULL: frozenset(
        {FieldClass.PUBLIC, FieldClass.RESTRICTED, FieldClass.ADVOCACY, FieldClass.SECRET}
    ),
    Profile.INTERNAL: frozenset({FieldClass.PUBLIC, FieldClass.RESTRICTED, FieldClass.ADVOCACY}),
    Profile.PARTNER: frozenset({FieldClass.PUBLIC}),
    Profile.PUBLIC: frozenset({FieldClass.PUBLIC}),
}


def visible_values(
    record: Any,
    classes: frozenset[FieldClass],
    decrypted: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The columns of `record` whose class is in `classes`, in table order, as the
    model holds them (incidents.serialise.plain makes them JSON-ready).

    Secret columns take their value from `decrypted` (never from the ciphertext
    attribute); system columns are never included.
    """
    values: dict[str, Any] = {}
    for column in record.__table__.columns:
        field_class = field_class_of(column)
        if field_class not in classes or field_class is FieldClass.SYSTEM:
            continue
        if field_class is FieldClass.SECRET:
            values[column.key] = (decrypted or {}).get(column.key)
        else:
            values[column.key] = getattr(record, column.key)
    return values
