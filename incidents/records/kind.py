"""What a kind of record is, for the table of kinds in incidents/records/kinds.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.permissions import Permission
from incidents.records.fields import InputField
from incidents.records.indexing import IndexedField
from incidents.records.inputs import CrossCheck


@dataclass(frozen=True)
class Dependent:
    """Records that describe another and are erased with it: `model` rows whose `key`
    names the erased record, and what in turn hangs off those (`then`)."""

    model: type[Any]
    key: str
    then: tuple[Dependent, ...] = ()


@dataclass(frozen=True)
class RecordKind:
    name: str  # "incident", "state_response": stable, used in URLs and files
    model: type[Any]
    label: str  # what users call one: "incident", "official response"
    fields: tuple[InputField, ...] = ()
    prefix: str | None = None  # references: INC-2017-0001 (with a year) or PER-0042
    reference_year: str | None = None  # the attribute whose year goes into the reference
    erasable: bool = False
    dependents: tuple[Dependent, ...] = ()
    indexed: tuple[IndexedField, ...] = ()
    check: CrossCheck | None = None
    write_permission: Permission = Permission.CASE_WRITE
    team_from: str | None = None  # for kinds without a team: the link that gives it
    creator: str | None = None  # the column that records who created it

    @property
    def table(self) -> str:
        name: str = self.model.__tablename__
        return name

    @property
    def team_scoped(self) -> bool:
        return "team_id" in self.model.__table__.columns

    @property
    def reference_pattern(self) -> str | None:
        """The regular expression of this kind's references, or None if it has none."""
        if self.prefix is None:
            return None
        year = r"-\d{4}" if self.reference_year else ""
        return rf"{self.prefix}{year}-\d{{4,}}"

    def field(self, name: str) -> InputField:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no input field {name}")
