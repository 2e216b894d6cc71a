"""Which secret fields have blind-index entries, and the terms a plaintext value gives.

The kinds of record in incidents/records/kinds.py name their indexed fields with these;
the keyed hashing of each term is incidents/crypto/blind_index.py's business.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from incidents.names import (
    normalise_date,
    normalise_name,
    normalise_unit,
    significant_tokens,
    split_items,
    split_lines,
)


class FieldShape(enum.Enum):
    NAME = "name"  # one name: a whole-value entry and one entry per word
    NAMES = "names"  # one name per line: each line as NAME
    DATE = "date"  # an ISO date or partial date: one entry
    UNITS = "units"  # units, one per line or between semicolons: one entry each


@dataclass(frozen=True)
class IndexedField:
    column: str
    shape: FieldShape
    whole_index: str  # the index of whole values
    token_index: str | None = None  # the index of single words, for partial matches


def index_terms(
    fields: Iterable[IndexedField], values: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    """(index name, normalised term) pairs for a record's plaintext `values`, each once."""
    terms: dict[tuple[str, str], None] = {}
    for indexed in fields:
        value = values.get(indexed.column)
        if not value:
            continue
        if indexed.shape is FieldShape.DATE:
            normalised = normalise_date(value)
            if normalised:
                terms.setdefault((indexed.whole_index, normalised), None)
            continue
        if indexed.shape is FieldShape.UNITS:
            for unit in split_items(value):
                folded = normalise_unit(unit)
                if folded:
                    terms.setdefault((indexed.whole_index, folded), None)
            continue
        names = split_lines(value) if indexed.shape is FieldShape.NAMES else [value]
        for name in names:
            whole = normalise_name(name)
            if whole:
                terms.setdefault((indexed.whole_index, whole), None)
            if indexed.token_index is not None:
                for token in significant_tokens(name):
                    terms.setdefault((indexed.token_index, token), None)
    return list(terms)


# The indexed fields of each kind (the `indexed` of its row in incidents/records/kinds.py).
PERSON_INDEX = (
    IndexedField("full_name", FieldShape.NAME, "person_name", "person_name_token"),
    # An alias is a name of its own: a whole-value entry as well as one per word.
    IndexedField("aliases", FieldShape.NAMES, "person_name", "person_name_token"),
    IndexedField("date_of_birth", FieldShape.DATE, "person_dob"),
)
SOURCE_INDEX = (
    IndexedField("identity", FieldShape.NAME, "source_identity", "source_identity_token"),
)
# What related-case suggestions compare (incidents/services/related_cases.py): whole
# values only, since a shared word ("police", "road") says nothing about two cases.
INCIDENT_INDEX = (IndexedField("place_detail", FieldShape.NAMES, "incident_place"),)
INVOLVEMENT_INDEX = (
    IndexedField("units", FieldShape.UNITS, "perpetrator_unit"),
    IndexedField("perpetrator_names", FieldShape.NAMES, "perpetrator_name"),
)
